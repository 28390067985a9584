package main

import "errors"

func cmdRun(args []string) error {
	return errors.New("not implemented yet")
}
