// Package atomicfile writes an output file so that readers see either the
// old content or the complete new one, never a half-written file: the
// content goes to a temporary file in the same directory, which is synced
// and renamed into place. Only regular files (and new paths) are replaced
// that way: a device, FIFO or socket (/dev/null, /dev/stdout, a named pipe)
// is written straight into, because renaming over it would replace the
// node itself — as root, /dev/null for the whole machine. A symbolic link
// is followed: its target is written, the link stays. It must stay a leaf
// (it imports only the standard library).
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// File is an output being written: a temporary file renamed over the
// target by Commit, or the target itself when it is not a regular file.
type File struct {
	*os.File
	target string // what Commit renames to; "" when written directly
	perm   fs.FileMode
	done   bool
}

// Create starts writing path. Finish with Commit, or Abort to leave path
// as it was (an aborted direct write cannot be taken back).
func Create(path string, perm fs.FileMode) (*File, error) {
	target := path
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		target = resolved
	}
	st, err := os.Stat(target)
	switch {
	case err == nil && st.IsDir():
		return nil, fmt.Errorf("write %s: is a directory", path)
	case err == nil && !st.Mode().IsRegular():
		// A device, FIFO or socket: no truncation, no rename.
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		return &File{File: f}, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*")
	if err != nil {
		return nil, err
	}
	return &File{File: tmp, target: target, perm: perm}, nil
}

// Direct reports whether the output is written straight into its target
// (not a regular file) rather than renamed over it.
func (f *File) Direct() bool { return f.target == "" }

// Commit finishes the output: a temporary file is given its mode, synced
// and renamed over the target; a direct write is closed. On failure the
// temporary file is removed.
func (f *File) Commit() error {
	if f.done {
		return nil
	}
	f.done = true
	if f.Direct() {
		return f.File.Close()
	}
	err := f.File.Chmod(f.perm)
	if err == nil {
		err = f.File.Sync()
	}
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.File.Name(), f.target)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("write %s: %w", f.target, err), os.Remove(f.File.Name()))
	}
	return nil
}

// Abort closes the output and removes the temporary file; the target is
// left as it was (apart from what a direct write already wrote).
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	err := f.File.Close()
	if !f.Direct() {
		err = errors.Join(err, os.Remove(f.File.Name()))
	}
	return err
}

// Write calls write with a File for path and commits it if write succeeds;
// on any failure path is left as it was.
func Write(path string, perm fs.FileMode, write func(io.Writer) error) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		return errors.Join(fmt.Errorf("write %s: %w", path, err), f.Abort())
	}
	return f.Commit()
}
