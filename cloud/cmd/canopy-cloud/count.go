package main

import "errors"

func cmdCount(args []string) error {
	return errors.New("not implemented yet")
}
