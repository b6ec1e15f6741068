package server

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// Reflected polynomials of the CRCs S3 can combine into FULL_OBJECT
// checksums of multipart uploads.
const (
	polyCRC32     = 0xedb88320
	polyCRC32C    = 0x82f63b78
	polyCRC64NVME = 0x9a6c9329ac4bc9b5
)

// crcSpec returns the reflected polynomial and width of a CRC algorithm;
// ok is false for algorithms that cannot be combined (SHA1, SHA256).
func crcSpec(algo string) (poly uint64, width int, ok bool) {
	switch algo {
	case algoCRC32:
		return polyCRC32, 32, true
	case algoCRC32C:
		return polyCRC32C, 32, true
	case algoCRC64NVME:
		return polyCRC64NVME, 64, true
	}
	return 0, 0, false
}

func gf2Times(mat []uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat []uint64) {
	for n := range mat {
		square[n] = gf2Times(mat, mat[n])
	}
}

// crcCombine returns the CRC of A||B from crc1 = CRC(A), crc2 = CRC(B) and
// len2 = len(B), for reflected CRCs with all-ones initial value and final
// XOR (CRC-32, CRC-32C, CRC-64/NVME), as zlib's crc32_combine does.
func crcCombine(crc1, crc2 uint64, len2 int64, poly uint64, width int) uint64 {
	if len2 <= 0 {
		return crc1
	}
	even := make([]uint64, width)
	odd := make([]uint64, width)
	odd[0] = poly // the operator for one zero bit
	row := uint64(1)
	for n := 1; n < width; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(even, odd) // two zero bits
	gf2Square(odd, even) // four zero bits
	for {
		gf2Square(even, odd)
		if len2&1 != 0 {
			crc1 = gf2Times(even, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
		gf2Square(odd, even)
		if len2&1 != 0 {
			crc1 = gf2Times(odd, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
	}
	return crc1 ^ crc2
}

var errBadPartCRC = errors.New("part checksum is not a CRC of the right size")

// decodeCRC reads a base64 big-endian CRC of width bits.
func decodeCRC(v string, width int) (uint64, error) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != width/8 {
		return 0, errBadPartCRC
	}
	if width == 32 {
		return uint64(binary.BigEndian.Uint32(b)), nil
	}
	return binary.BigEndian.Uint64(b), nil
}

func encodeCRC(v uint64, width int) string {
	if width == 32 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v))
		return base64.StdEncoding.EncodeToString(b[:])
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return base64.StdEncoding.EncodeToString(b[:])
}

// combineCRCs returns the base64 FULL_OBJECT CRC of parts whose CRCs (base64)
// and sizes are given in order.
func combineCRCs(algo string, crcs []string, sizes []int64) (string, error) {
	poly, width, ok := crcSpec(algo)
	if !ok {
		return "", errors.New("not a CRC algorithm")
	}
	var total uint64
	for i, c := range crcs {
		v, err := decodeCRC(c, width)
		if err != nil {
			return "", err
		}
		if i == 0 {
			total = v
			continue
		}
		total = crcCombine(total, v, sizes[i], poly, width)
	}
	return encodeCRC(total, width), nil
}
