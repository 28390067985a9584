// Package config is the agent's one typed configuration: defaults, a board
// profile, a YAML file decoded strictly (an unknown key is an error),
// secrets from the environment, then flags, in that order, each layer
// overriding the one before. Validate reports every problem at once.
//
// Durations are strings ("5s", "10ms"). MQTT credentials are never read
// from the config file: they come from username_file / password_file or
// from CANOPY_MQTT_USERNAME / CANOPY_MQTT_PASSWORD.
//
// A Config is a plain value; nothing in it is safe to mutate concurrently.
package config
