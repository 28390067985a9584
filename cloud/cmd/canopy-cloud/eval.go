package main

import "errors"

func cmdEval(args []string) error {
	return errors.New("not implemented yet")
}
