package main

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

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

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "Less than a second", time.Second: "1 second", 42 * time.Second: "42 seconds",
		90 * time.Second: "About a minute", 5 * time.Minute: "5 minutes", 70 * time.Minute: "About an hour",
		5 * time.Hour: "5 hours", 72 * time.Hour: "3 days", 21 * 24 * time.Hour: "3 weeks",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
