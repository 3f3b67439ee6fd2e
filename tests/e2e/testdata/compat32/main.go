// compat32 is built for 386 (GOARCH=386) by TestSeccompAdmits32BitCalls:
// a 32-bit program that makes its system calls through int 0x80, with
// i386's numbers. It reports one call docker's profile allows and one it
// denies.
package main

import (
	"fmt"
	"syscall"
)

func main() {
	_, _, errno := syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
	fmt.Printf("getpid: %v\n", errno == 0)
	_, _, errno = syscall.RawSyscall(syscall.SYS_UNSHARE, syscall.CLONE_NEWUSER, 0, 0)
	fmt.Printf("unshare(CLONE_NEWUSER): %v\n", errno)
}
