package fleet

import "syscall"

// nofile is this process's limit on open files (RLIMIT_NOFILE, soft).
func nofile() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	return l.Cur, nil
}
