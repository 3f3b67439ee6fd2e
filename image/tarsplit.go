package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// A layer is kept as files, but its DiffID is the digest of its tar: to
// write that tar again byte for byte (save), the store keeps, beside the
// files, everything of the tar that is not a file's contents: its header
// blocks, padding and end, in order, with the name and size of each file
// whose contents come between them. docker and containers/storage keep
// the same thing with github.com/vbatts/tar-split; it is written out here
// because that package builds crc64 tables when any program linking it
// starts, and every container start would pay for them.
//
// The record (tar-split.gz in the layer's directory) is a gzip stream of
//
//	'S' uvarint(n) n bytes           bytes of the tar as they were
//	'F' uvarint(size) uvarint(n) n bytes   a file's contents: size bytes of the file named
//
// A file's contents are not checked one by one: the whole tar written
// again is checked against the DiffID (Save).
const splitFile = "tar-split.gz"

// tarSplit sits between a layer's tar stream and archive/tar's reader,
// which reads exactly the blocks it needs: what it reads outside a file's
// contents is kept as it was.
type tarSplit struct {
	src    io.Reader
	raw    bytes.Buffer
	inFile bool
	zw     *gzip.Writer
	out    *bufio.Writer
	files  map[string]bool
}

func newTarSplit(src io.Reader, w io.Writer) *tarSplit {
	zw := gzip.NewWriter(w)
	return &tarSplit{src: src, zw: zw, out: bufio.NewWriter(zw), files: map[string]bool{}}
}

func (t *tarSplit) Read(p []byte) (int, error) {
	n, err := t.src.Read(p)
	if !t.inFile {
		t.raw.Write(p[:n])
	}
	return n, err
}

// segment writes what was read since the last one.
func (t *tarSplit) segment() error {
	if t.raw.Len() == 0 {
		return nil
	}
	t.out.WriteByte('S')
	t.uvarint(uint64(t.raw.Len()))
	_, err := t.out.Write(t.raw.Bytes())
	t.raw.Reset()
	return err
}

func (t *tarSplit) uvarint(n uint64) {
	var b [binary.MaxVarintLen64]byte
	t.out.Write(b[:binary.PutUvarint(b[:], n)])
}

// file reads a file's contents with read, which must read all of them
// and say which file of the layer they are in, and records that size
// bytes of that file come here.
func (t *tarSplit) file(entry string, size int64, read func() (string, int64, error)) error {
	if err := t.segment(); err != nil {
		return err
	}
	t.inFile = true
	name, n, err := read()
	t.inFile = false
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("entry %q: %d bytes of %d", entry, n, size)
	}
	if t.files[name] {
		// A file given twice: written again, the tar would have the
		// second's contents twice (docker's tar-split refuses it too).
		return fmt.Errorf("refused: entry %q appears twice", entry)
	}
	t.files[name] = true
	t.out.WriteByte('F')
	t.uvarint(uint64(size))
	t.uvarint(uint64(len(name)))
	_, err = t.out.WriteString(name)
	return err
}

// close writes the rest (the end of the archive) and ends the record.
func (t *tarSplit) close() error {
	if err := t.segment(); err != nil {
		return err
	}
	if err := t.out.Flush(); err != nil {
		return err
	}
	return t.zw.Close()
}

// joinTar writes the tar recorded in split again, the files' contents
// opened with open.
func joinTar(w io.Writer, split io.Reader, open func(name string) (*os.File, error)) error {
	zr, err := gzip.NewReader(split)
	if err != nil {
		return fmt.Errorf("tar record: %w", err)
	}
	r := bufio.NewReader(zr)
	for {
		kind, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tar record: %w", err)
		}
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return fmt.Errorf("tar record: %w", err)
		}
		switch kind {
		case 'S':
			if _, err := io.CopyN(w, r, int64(n)); err != nil {
				return fmt.Errorf("tar record: %w", err)
			}
		case 'F':
			size := int64(n)
			if n, err = binary.ReadUvarint(r); err != nil || n > 1<<16 {
				return fmt.Errorf("tar record: a name of %d bytes: %v", n, err)
			}
			name := make([]byte, n)
			if _, err := io.ReadFull(r, name); err != nil {
				return fmt.Errorf("tar record: %w", err)
			}
			f, err := open(string(name))
			if err != nil {
				return err
			}
			_, err = io.CopyN(w, f, size)
			f.Close()
			if err != nil {
				return fmt.Errorf("layer file %s: %w", name, err)
			}
		default:
			return fmt.Errorf("tar record: unknown kind %q", kind)
		}
	}
}
