package flagfile

import "flag"

// Parse parses fs from args with flags before or after the positional
// arguments (cmd ID --data DIR), and returns the positional ones, in
// order.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
