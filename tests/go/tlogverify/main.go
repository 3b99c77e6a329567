// Command tlogverify checks a C2SP tlog-tiles mirror of a Corridor log with Go's own
// checksum-database code (golang.org/x/mod/sumdb/note and sumdb/tlog), an implementation
// Corridor shares nothing with: the checkpoint's signature by the log key, every tile on the
// way to the checkpoint's root, and the inclusion of every entry of the entry bundles.
//
// Usage: tlogverify DIR LOG_VKEY
// Prints "ok SIZE ROOT" and exits 0, or prints the first problem and exits 1.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8 // C2SP tlog-tiles: 256 hashes a tile

// mirror reads the tiles of a tlog-tiles directory: Go names them tile/8/L/N, C2SP tile/L/N.
type mirror struct{ dir string }

func (m mirror) Height() int { return height }

func (m mirror) path(t tlog.Tile) string {
	p := t.Path()
	if t.L == -1 {
		return filepath.Join(m.dir, "tile/entries/"+strings.TrimPrefix(p, "tile/8/data/"))
	}
	return filepath.Join(m.dir, "tile/"+strings.TrimPrefix(p, "tile/8/"))
}

func (m mirror) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(m.path(t))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (m mirror) SaveTiles([]tlog.Tile, [][]byte) {}

func fail(format string, args ...any) {
	fmt.Printf(format+"\n", args...)
	os.Exit(1)
}

// checkpoint opens the signed checkpoint and returns its size and root.
func checkpoint(dir, vkey string) (int64, tlog.Hash) {
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("log key: %v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != v.Name() {
		fail("checkpoint: origin line %q is not the log %q", lines[0], v.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		fail("checkpoint: size line %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		fail("checkpoint: root line %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], raw)
	return size, root
}

// entries reads entry bundle k (`width` entries, each with a two-byte big-endian length).
func entries(m mirror, k, width int64) [][]byte {
	data, err := os.ReadFile(m.path(tlog.Tile{H: height, L: -1, N: k, W: int(width)}))
	if err != nil {
		fail("entry bundle %d: %v", k, err)
	}
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			fail("entry bundle %d: truncated length", k)
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			fail("entry bundle %d: truncated entry", k)
		}
		out = append(out, data[2:2+n])
		data = data[2+n:]
	}
	if int64(len(out)) < width {
		fail("entry bundle %d: %d entries, want %d", k, len(out), width)
	}
	return out[:width]
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: tlogverify DIR LOG_VKEY")
	}
	dir, vkey := os.Args[1], os.Args[2]
	size, root := checkpoint(dir, vkey)
	m := mirror{dir}
	hashes := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, m)
	got, err := tlog.TreeHash(size, hashes)
	if err != nil {
		fail("tree hash: %v", err)
	}
	if got != root {
		fail("tree hash %v is not the checkpoint's root %v", got, root)
	}
	for k := int64(0); k*256 < size; k++ {
		width := size - k*256
		if width > 256 {
			width = 256
		}
		for i, data := range entries(m, k, width) {
			index := k*256 + int64(i)
			proof, err := tlog.ProveRecord(size, index, hashes)
			if err != nil {
				fail("entry %d: proof: %v", index, err)
			}
			if err := tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(data)); err != nil {
				fail("entry %d: %v", index, err)
			}
		}
	}
	fmt.Printf("ok %d %s\n", size, root)
}
