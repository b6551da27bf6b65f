package load

import (
	"bytes"
	"crypto/sha256"
	"io"
	"sync"

	"github.com/ringfence/ringfence/internal/load/document"
)

// Cache holds the documents of files read by several loads, by content: a
// file with the same bytes in two loads (a diff's base and head, where a
// change touches a few files of many) is decoded once. It is safe for
// concurrent loads. The objects are shared read-only; each load gets its
// own copies of their headers, named by its own path.
type Cache struct {
	mu    sync.Mutex
	files map[[sha256.Size]byte]*cached
}

// cached is one content's documents; done closes once they are read.
type cached struct {
	done chan struct{}
	name string
	objs []*document.Object
	err  error
}

// NewCache returns an empty cache, to give to the Options of the loads
// that share it.
func NewCache() *Cache {
	return &Cache{files: map[[sha256.Size]byte]*cached{}}
}

// read returns the documents of data, read from the file name: decoded by
// the first load that asks, and waited for by the others.
func (c *Cache) read(name string, data []byte) ([]*document.Object, error) {
	key := sha256.Sum256(data)
	c.mu.Lock()
	e, ok := c.files[key]
	if !ok {
		e = &cached{done: make(chan struct{}), name: name}
		c.files[key] = e
	}
	c.mu.Unlock()
	if !ok {
		e.objs, e.err = document.Read(name, bytes.NewReader(data))
		close(e.done)
	}
	<-e.done
	if e.err != nil {
		// Errors name the file: read it again under this name (the
		// same error, said of the right file).
		if e.name == name {
			return nil, e.err
		}
		return document.Read(name, bytes.NewReader(data))
	}
	if e.name == name {
		return e.objs, nil
	}
	out := make([]*document.Object, len(e.objs))
	for i, o := range e.objs {
		cp := *o
		if cp.Source.File == e.name {
			cp.Source.File = name
		}
		out[i] = &cp
	}
	return out, nil
}

// readFile reads a file for the cache, as document.Read would: at most
// one byte past the size document.Read accepts, so that it still refuses
// larger inputs.
func readFile(r io.Reader) ([]byte, error) {
	return document.ReadAll(r)
}
