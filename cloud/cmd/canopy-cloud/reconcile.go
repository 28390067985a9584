package main

import "errors"

func cmdReconcile(args []string) error {
	return errors.New("not implemented yet")
}
