// Package flagfile sets the flags of a flag.FlagSet from a YAML file or
// from the environment, so that a command's flags are also its
// configuration file and its environment variables, with one name each.
//
// A file is a YAML mapping whose keys are flag names without the dashes
// and whose values are scalars, written as on the command line:
//
//	http: 0.0.0.0:8080
//	database-url: postgres://canopy@db/canopy
//	workers: 2
//
// Unknown keys, repeated keys and values that are not scalars are errors,
// and every problem is reported at once. Flags given on the command line
// win over the file and the environment: call Load and Env after
// fs.Parse. The functions hold no state and are safe for concurrent use on
// different FlagSets.
package flagfile
