package diskprobe

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync is what a database commit pays on Linux (bbolt uses it too).
func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
