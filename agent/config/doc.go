// Package config is the agent's one typed configuration: defaults, a board
// profile, a YAML file decoded strictly (an unknown key is an error) and
// the fragments of its drop-in folder (agent.yaml, then agent.d/*.yaml),
// secrets from the environment, then flags, in that order, each layer
// overriding the one before. Validate reports every problem at once; a
// broker without the cloud's key (ErrNoCloudKey) is one, unless
// sync.insecure_acks says otherwise.
//
// Durations are strings ("5s", "10ms"). The MQTT password is never read
// from the config file: it comes from password_file or from
// CANOPY_MQTT_PASSWORD (the username may be in the file).
//
// A Config is a plain value; nothing in it is safe to mutate concurrently.
package config
