package blob

import "syscall"

const syscallENOTDIR = syscall.ENOTDIR
