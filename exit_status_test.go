package main

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/mydocker/mydocker/container"
)

func TestExitStatusMapsLikeDocker(t *testing.T) {
	cases := []struct {
		name string
		ws   syscall.WaitStatus
		want int
	}{
		{"exit 0", syscall.WaitStatus(0 << 8), 0},
		{"exit 3", syscall.WaitStatus(3 << 8), 3},
		{"exit 255", syscall.WaitStatus(255 << 8), 255},
		{"SIGKILL", syscall.WaitStatus(syscall.SIGKILL), 137},
		{"SIGTERM", syscall.WaitStatus(syscall.SIGTERM), 143},
		{"SIGINT with core flag", syscall.WaitStatus(syscall.SIGQUIT) | 0x80, 131},
	}
	for _, c := range cases {
		if got := exitStatus(c.ws); got != c.want {
			t.Errorf("%s: exitStatus = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestStatusOfErrors(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{exitWith(3), 3},
		{usageErrorf("bad flag"), 125},
		{&container.StartError{Status: 127, Message: "not found"}, 127},
		{fmt.Errorf("wrapped: %w", &container.StartError{Status: 126}), 126},
		{errors.New("clone failed"), 125},
	}
	for _, c := range cases {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("statusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
