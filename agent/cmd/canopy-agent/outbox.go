package main

import "errors"

func cmdOutbox(args []string) error {
	return errors.New("not implemented yet")
}
