package blob

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The strip functions walk a file's container structure, copy what
// renders the image and drop metadata and anything after the end. They
// check structure (lengths, checksums, order) but not image data: the
// decoders do that afterwards. None modifies its input.

var errTruncated = errors.New("truncated")

const pngSignature = "\x89PNG\r\n\x1a\n"

// pngKeep lists the PNG chunks kept: the critical ones, colour and
// transparency, physical size, and APNG's animation chunks.
var pngKeep = map[string]bool{
	"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true,
	"tRNS": true, "cHRM": true, "gAMA": true, "iCCP": true, "sBIT": true,
	"sRGB": true, "cICP": true, "mDCV": true, "cLLI": true, "bKGD": true,
	"pHYs": true, "acTL": true, "fcTL": true, "fdAT": true,
}

func stripPNG(data []byte) ([]byte, error) {
	out := make([]byte, 0, len(data))
	out = append(out, pngSignature...)
	i := len(pngSignature)
	for first := true; ; first = false {
		if len(data)-i < 12 {
			return nil, errTruncated
		}
		n := binary.BigEndian.Uint32(data[i:])
		if n > 1<<31-1 || uint64(len(data)-i-12) < uint64(n) {
			return nil, errTruncated
		}
		end := i + 12 + int(n)
		typ := string(data[i+4 : i+8])
		if crc32.ChecksumIEEE(data[i+4:end-4]) != binary.BigEndian.Uint32(data[end-4:]) {
			return nil, fmt.Errorf("png chunk %q: bad checksum", typ)
		}
		if first != (typ == "IHDR") {
			return nil, errors.New("png: IHDR is not first")
		}
		switch {
		case pngKeep[typ]:
			out = append(out, data[i:end]...)
		case typ[0]&0x20 == 0: // upper case: critical, cannot be skipped
			return nil, fmt.Errorf("png: unknown critical chunk %q", typ)
		}
		i = end
		if typ == "IEND" {
			return out, nil
		}
	}
}

// JPEG markers.
const (
	jpegSOI  = 0xd8
	jpegEOI  = 0xd9
	jpegSOS  = 0xda
	jpegAPP0 = 0xe0
	jpegAPP1 = 0xe1
	jpegAPP2 = 0xe2
	jpegAPPE = 0xee
	jpegCOM  = 0xfe
)

// stripJPEG returns the JPEG without metadata segments and the EXIF
// orientation (1 when absent), which it keeps in a minimal EXIF segment
// when it is not 1.
func stripJPEG(data []byte) ([]byte, int, error) {
	if len(data) < 2 || data[0] != 0xff || data[1] != jpegSOI {
		return nil, 0, errors.New("jpeg: no SOI")
	}
	out := make([]byte, 0, len(data))
	out = append(out, 0xff, jpegSOI)
	orientation, exifSeen := 1, false
	i := 2
	for {
		if i >= len(data) {
			return nil, 0, errTruncated
		}
		if data[i] != 0xff {
			return nil, 0, fmt.Errorf("jpeg: byte %#x where a marker belongs", data[i])
		}
		for i < len(data) && data[i] == 0xff { // fill bytes
			i++
		}
		if i >= len(data) {
			return nil, 0, errTruncated
		}
		m := data[i]
		i++
		switch {
		case m == jpegEOI:
			return append(out, 0xff, jpegEOI), orientation, nil
		case m == 0x01 || m >= 0xd0 && m <= 0xd7: // TEM, RSTn: no length
			out = append(out, 0xff, m)
			continue
		case m == 0x00 || m == jpegSOI:
			return nil, 0, fmt.Errorf("jpeg: unexpected marker %#x", m)
		}
		if len(data)-i < 2 {
			return nil, 0, errTruncated
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 || len(data)-i < n {
			return nil, 0, errTruncated
		}
		seg, payload := data[i-2:i+n], data[i+2:i+n]
		i += n
		switch {
		case m == jpegAPP0:
			if bytes.HasPrefix(payload, []byte("JFIF\x00")) {
				out = append(out, seg...)
			}
		case m == jpegAPP1:
			if !exifSeen && bytes.HasPrefix(payload, []byte("Exif\x00\x00")) {
				exifSeen = true
				orientation = exifOrientation(payload[6:])
				if orientation != 1 {
					out = append(out, orientationSegment(orientation)...)
				}
			}
		case m == jpegAPP2:
			if bytes.HasPrefix(payload, []byte("ICC_PROFILE\x00")) {
				out = append(out, seg...)
			}
		case m == jpegAPPE:
			if bytes.HasPrefix(payload, []byte("Adobe")) {
				out = append(out, seg...)
			}
		case m > jpegAPP0 && m < jpegAPPE || m == 0xef || m == jpegCOM:
			// Other application segments and comments: metadata.
		default:
			out = append(out, seg...)
		}
		if m != jpegSOS {
			continue
		}
		// Entropy-coded data runs to the next marker: 0xff followed by
		// anything but a stuffed 0x00 or a restart marker.
		j := i
		for {
			k := bytes.IndexByte(data[j:], 0xff)
			if k < 0 || j+k+1 >= len(data) {
				return nil, 0, errTruncated
			}
			j += k
			if b := data[j+1]; b == 0x00 || b >= 0xd0 && b <= 0xd7 {
				j += 2
				continue
			}
			break
		}
		out = append(out, data[i:j]...)
		i = j
	}
}

// exifOrientation reads the Orientation tag (0x0112) of IFD0 in a TIFF
// structure, returning 1 when it is missing or out of range.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(tiff[2:]) != 42 {
		return 1
	}
	ifd := uint64(bo.Uint32(tiff[4:]))
	if ifd+2 > uint64(len(tiff)) {
		return 1
	}
	count := uint64(bo.Uint16(tiff[ifd:]))
	for e := ifd + 2; e+12 <= uint64(len(tiff)) && count > 0; e, count = e+12, count-1 {
		if bo.Uint16(tiff[e:]) != 0x0112 {
			continue
		}
		// SHORT, one value, stored in the entry itself.
		if bo.Uint16(tiff[e+2:]) != 3 || bo.Uint32(tiff[e+4:]) != 1 {
			return 1
		}
		if o := int(bo.Uint16(tiff[e+8:])); o >= 1 && o <= 8 {
			return o
		}
		return 1
	}
	return 1
}

// orientationSegment returns an APP1 EXIF segment holding only the
// Orientation tag: a big-endian TIFF header and an IFD of one entry.
func orientationSegment(o int) []byte {
	return []byte{
		0xff, jpegAPP1, 0x00, 0x22, // marker, length 34
		'E', 'x', 'i', 'f', 0, 0,
		'M', 'M', 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08, // TIFF header, IFD0 at 8
		0x00, 0x01, // one entry
		0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, byte(o), 0x00, 0x00, // Orientation, SHORT, 1, o
		0x00, 0x00, 0x00, 0x00, // no next IFD
	}
}

// stripGIF returns the GIF without comments and application extensions
// other than the loop count, and the sum of its frames' areas.
func stripGIF(data []byte) ([]byte, int64, error) {
	if len(data) < 13 {
		return nil, 0, errTruncated
	}
	i := 13
	if packed := data[10]; packed&0x80 != 0 {
		i += 3 << (packed&7 + 1) // global colour table
	}
	if i > len(data) {
		return nil, 0, errTruncated
	}
	out := make([]byte, 0, len(data))
	out = append(out, data[:i]...)
	var area int64
	frames := 0
	for {
		if i >= len(data) {
			return nil, 0, errTruncated
		}
		start := i
		switch data[i] {
		case 0x3b: // trailer
			if frames == 0 {
				return nil, 0, errors.New("gif: no frames")
			}
			return append(out, 0x3b), area, nil
		case 0x21: // extension: label, then sub-blocks
			if i+2 > len(data) {
				return nil, 0, errTruncated
			}
			label := data[i+1]
			end, err := gifSubBlocks(data, i+2)
			if err != nil {
				return nil, 0, err
			}
			keep := label == 0xf9 || label == 0x01 // graphic control, plain text
			if label == 0xff {                     // application: keep the loop count only
				id := data[i+2 : end]
				keep = bytes.HasPrefix(id, []byte("\x0bNETSCAPE2.0")) || bytes.HasPrefix(id, []byte("\x0bANIMEXTS1.0"))
			}
			if keep {
				out = append(out, data[start:end]...)
			}
			i = end
		case 0x2c: // image descriptor, colour table, LZW width, sub-blocks
			if i+11 > len(data) {
				return nil, 0, errTruncated
			}
			w := int64(binary.LittleEndian.Uint16(data[i+5:]))
			h := int64(binary.LittleEndian.Uint16(data[i+7:]))
			area += w * h
			frames++
			j := i + 10
			if packed := data[i+9]; packed&0x80 != 0 {
				j += 3 << (packed&7 + 1)
			}
			j++ // LZW minimum code size
			if j > len(data) {
				return nil, 0, errTruncated
			}
			end, err := gifSubBlocks(data, j)
			if err != nil {
				return nil, 0, err
			}
			out = append(out, data[start:end]...)
			i = end
		default:
			return nil, 0, fmt.Errorf("gif: unknown block %#x", data[i])
		}
	}
}

// gifSubBlocks returns the offset after the sub-blocks starting at i,
// which end with an empty one.
func gifSubBlocks(data []byte, i int) (int, error) {
	for {
		if i >= len(data) {
			return 0, errTruncated
		}
		n := int(data[i])
		i += 1 + n
		if n == 0 {
			return i, nil
		}
	}
}

// webpKeep lists the WebP chunks kept: image, alpha, animation and colour
// profile.
var webpKeep = map[string]bool{
	"VP8 ": true, "VP8L": true, "VP8X": true, "ALPH": true,
	"ANIM": true, "ANMF": true, "ICCP": true,
}

// stripWebP returns the WebP without EXIF, XMP and unknown chunks, and
// whether it is animated.
func stripWebP(data []byte) ([]byte, bool, error) {
	if len(data) < 12 {
		return nil, false, errTruncated
	}
	size := uint64(binary.LittleEndian.Uint32(data[4:]))
	if size < 4 || 8+size > uint64(len(data)) {
		return nil, false, errTruncated
	}
	data = data[:8+size] // drop anything after the RIFF
	out := make([]byte, 12, len(data))
	copy(out, "RIFF\x00\x00\x00\x00WEBP")
	animated := false
	for i, first := 12, true; i < len(data); first = false {
		if len(data)-i < 8 {
			return nil, false, errTruncated
		}
		typ := string(data[i : i+4])
		n := uint64(binary.LittleEndian.Uint32(data[i+4:]))
		end := uint64(i) + 8 + n + n&1 // chunks are padded to even length
		if end > uint64(len(data)) {
			return nil, false, errTruncated
		}
		if first && typ != "VP8 " && typ != "VP8L" && typ != "VP8X" {
			return nil, false, fmt.Errorf("webp: first chunk %q", typ)
		}
		if webpKeep[typ] {
			start := len(out)
			out = append(out, data[i:end]...)
			if typ == "VP8X" {
				if n < 10 {
					return nil, false, errTruncated
				}
				out[start+8] &^= 0x08 | 0x04 // no EXIF, no XMP any more
				animated = out[start+8]&0x02 != 0
			}
		}
		i = int(end)
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, animated, nil
}
