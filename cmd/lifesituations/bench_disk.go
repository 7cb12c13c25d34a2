package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"lifesituations/adapters/diskprobe"
)

func benchDisk(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench disk", "Measures this machine's disk: synchronous 4 KiB writes per second (write + fdatasync)\nand sequential write MB/s. Store figures are reported as ratios to these limits.", stderr)
	dir := fs.String("dir", ".", "directory on the disk to measure (temporary files are removed)")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	res, err := probeDisk(ctx, *dir)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res)
	return nil
}

func probeDisk(ctx context.Context, dir string) (diskprobe.Result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return diskprobe.Result{}, err
	}
	res, err := diskprobe.Probe(ctx, dir, diskprobe.Config{})
	if err != nil {
		return res, fmt.Errorf("disk probe in %s: %w", dir, err)
	}
	return res, nil
}
