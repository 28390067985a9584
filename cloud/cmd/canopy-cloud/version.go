package main

import "errors"

func cmdVersion(args []string) error {
	return errors.New("not implemented yet")
}
