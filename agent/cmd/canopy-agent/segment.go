package main

import "errors"

func cmdSegment(args []string) error {
	return errors.New("not implemented yet")
}
