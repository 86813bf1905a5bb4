package output

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/decnet/decnet/internal/event"
)

// DefaultFileOptions are applied to the zero fields of FileOptions.
var DefaultFileOptions = FileOptions{MaxBytes: 100 << 20, Keep: 5}

// FileOptions configures a File output.
type FileOptions struct {
	// MaxBytes rotates the file before it would grow past this size
	// (default 100 MiB). A single line longer than MaxBytes still gets a
	// file of its own.
	MaxBytes int64
	// Keep is the number of rotated files kept: path.1 (newest) to
	// path.<Keep> (default 5). Older ones are removed.
	Keep int
}

// File appends events as JSON lines to a file, the canonical document one
// per line, fsyncing after every batch before it reports the batch
// delivered. The file is created with mode 0640 (less the umask) and
// rotated by size, logrotate style: path becomes path.1, path.1 becomes
// path.2, and so on up to Keep.
type File struct {
	base
	path string
	opts FileOptions

	mu     sync.Mutex
	f      *os.File
	size   int64
	closed bool
}

var (
	_ Output   = (*File)(nil)
	_ Reporter = (*File)(nil)
	_ Tester   = (*File)(nil)
)

// NewFile returns a File output named name writing to path. It opens
// nothing: the file is opened (and created) on the first Deliver.
func NewFile(name, path string, opts FileOptions) (*File, error) {
	if path == "" {
		return nil, errors.New("output: file needs a path")
	}
	opts.MaxBytes = orDefault(opts.MaxBytes, DefaultFileOptions.MaxBytes)
	opts.Keep = orDefault(opts.Keep, DefaultFileOptions.Keep)
	return &File{base: newBase(name, KindFile), path: filepath.Clean(path), opts: opts}, nil
}

// Deliver appends the batch and fsyncs it. When a write fails the file is
// cut back to the last complete batch, so no partial line is left.
func (o *File) Deliver(ctx context.Context, events []event.Event) error {
	return o.account(len(events), o.deliver(ctx, events))
}

// Test appends a sample event (type TestEventType).
func (o *File) Test(ctx context.Context) error {
	return o.deliver(ctx, []event.Event{sampleEvent()})
}

func (o *File) deliver(ctx context.Context, events []event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return fmt.Errorf("output %s: %w", o.name, ErrClosed)
	}
	var chunk []byte
	for i := range events {
		line, err := event.JSONLine(&events[i])
		if err != nil {
			return fmt.Errorf("output %s: encode event %s: %w", o.name, events[i].ID, err)
		}
		if o.f == nil {
			if err := o.open(); err != nil {
				return err
			}
		}
		if o.size+int64(len(chunk)+len(line)) > o.opts.MaxBytes && o.size+int64(len(chunk)) > 0 {
			if err := o.write(chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
			if err := o.rotate(); err != nil {
				return err
			}
		}
		chunk = append(chunk, line...)
	}
	if len(chunk) > 0 {
		if o.f == nil {
			if err := o.open(); err != nil {
				return err
			}
		}
		return o.write(chunk)
	}
	return nil
}

// open opens (creating) the file for appending. Called with mu held.
func (o *File) open() error {
	_, statErr := os.Stat(o.path)
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("output %s: open %s: %w", o.name, o.path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("output %s: stat %s: %w", o.name, o.path, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// Make the new directory entry durable too.
		if err := syncDir(filepath.Dir(o.path)); err != nil {
			_ = f.Close()
			return fmt.Errorf("output %s: %w", o.name, err)
		}
	}
	o.f, o.size = f, fi.Size()
	return nil
}

// write appends b and fsyncs. On failure it truncates the file back to
// its size before the write and closes it, so the next Deliver reopens a
// file that ends with a whole line. Called with mu held.
func (o *File) write(b []byte) error {
	n, err := o.f.Write(b)
	if err == nil {
		err = o.f.Sync()
	}
	if err != nil {
		if n > 0 {
			_ = o.f.Truncate(o.size)
		}
		_ = o.f.Close()
		o.f = nil
		return fmt.Errorf("output %s: write %s: %w", o.name, o.path, err)
	}
	o.size += int64(n)
	return nil
}

// rotate closes the current file and shifts path.N up to path.Keep.
// Called with mu held.
func (o *File) rotate() error {
	if o.f != nil {
		err := o.f.Close()
		o.f = nil
		if err != nil {
			return fmt.Errorf("output %s: close %s: %w", o.name, o.path, err)
		}
	}
	if err := os.Remove(o.rotated(o.opts.Keep)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("output %s: rotate: %w", o.name, err)
	}
	for i := o.opts.Keep - 1; i >= 1; i-- {
		if err := os.Rename(o.rotated(i), o.rotated(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("output %s: rotate: %w", o.name, err)
		}
	}
	if err := os.Rename(o.path, o.rotated(1)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("output %s: rotate: %w", o.name, err)
	}
	if err := syncDir(filepath.Dir(o.path)); err != nil {
		return fmt.Errorf("output %s: %w", o.name, err)
	}
	return o.open()
}

func (o *File) rotated(i int) string { return o.path + "." + strconv.Itoa(i) }

// Close closes the file; Deliver fails after it.
func (o *File) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	if err != nil {
		return fmt.Errorf("output %s: close %s: %w", o.name, o.path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
