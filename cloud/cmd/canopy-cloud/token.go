package main

import "errors"

func cmdToken(args []string) error {
	return errors.New("not implemented yet")
}
