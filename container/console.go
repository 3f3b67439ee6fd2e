package container

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// setUpConsole is init's half of `run -t` with an image or --rootfs: the
// container's terminal comes from its own devpts instance (mounted at
// devPts), so inside it is /dev/pts/0 like any other, not a host pty whose
// path does not exist in the container. The slave becomes init's
// controlling terminal and stdio; the master goes to run, which relays it
// to the user's terminal.
func setUpConsole(devPts string) error {
	master, err := os.OpenFile(devPts+"/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("console: open ptmx: %w", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("console: unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("console: pty number: %w", err)
	}
	slave, err := os.OpenFile(devPts+"/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("console: open pty slave: %w", err)
	}
	defer slave.Close()
	// run started init with setsid(): a session leader without a terminal
	// may take this one as its controlling terminal.
	if err := unix.IoctlSetInt(int(slave.Fd()), unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("console: set controlling terminal: %w", err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup2(int(slave.Fd()), fd); err != nil {
			return fmt.Errorf("console: stdio: %w", err)
		}
	}
	if err := sendFd(int(master.Fd()), "pty master"); err != nil {
		return err
	}
	return unix.Close(consoleFd)
}

// sendFd is init's half of the descriptors it sends run over consoleFd:
// each travels as SCM_RIGHTS ancillary data, one byte of payload.
func sendFd(fd int, what string) error {
	if err := unix.Sendmsg(consoleFd, []byte{0}, unix.UnixRights(fd), nil, 0); err != nil {
		return fmt.Errorf("send the %s: %w", what, err)
	}
	return nil
}

// receiveFd is run's half: the descriptor init sent, or nil if init
// closed the socket without sending one (it failed first).
func receiveFd(sock *os.File, what string) (*os.File, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive the %s: %w", what, err)
	}
	if n == 0 && oobn == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive the %s: malformed message from init (%v)", what, err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive the %s: none from init (%v)", what, err)
	}
	return os.NewFile(uintptr(fds[0]), what), nil
}
