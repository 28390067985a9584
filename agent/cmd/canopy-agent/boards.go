package main

import "errors"

func cmdBoards(args []string) error {
	return errors.New("not implemented yet")
}
