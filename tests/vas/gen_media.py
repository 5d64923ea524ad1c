#!/usr/bin/env python3
"""Writes vas_double_media.c: the test double's built-in media, made here
from scratch so no image or video tool is needed.

- an 8x8 baseline JPEG (one grey block: a DC coefficient and an EOB, coded
  with the standard luminance Huffman tables);
- a 16x16 H.264 (Constrained Baseline) MP4 of 5 frames at 5 fps, each an
  IDR picture of one I_PCM macroblock, in ftyp + moov + mdat.

Run (from the repository root):
  python3 tests/vas/gen_media.py | clang-format --assume-filename=x.c > tests/vas/vas_double_media.c
"""
import struct


# ---------------------------------------------------------------- JPEG
def jpeg_8x8(grey):
    def seg(marker, body):
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    out = b"\xff\xd8"
    out += seg(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    out += seg(0xDB, b"\x00" + bytes([16] * 64))  # table 0, 8-bit, all 16
    out += seg(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00")
    dc_bits = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    dc_vals = list(range(12))
    ac_bits = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D]
    ac_vals = [0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06,
               0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08,
               0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0, 0x24, 0x33, 0x62, 0x72,
               0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28,
               0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A]
    for hi in (0x40, 0x50, 0x60, 0x70, 0x80):
        ac_vals += [hi + lo for lo in range(3, 11)]
    for hi in (0x90, 0xA0, 0xB0, 0xC0, 0xD0):
        ac_vals += [hi + lo for lo in range(2, 11)]
    for hi in (0xE0, 0xF0):
        ac_vals += [hi + lo for lo in range(1, 11)]
    assert len(ac_vals) == sum(ac_bits) == 162
    out += seg(0xC4, b"\x00" + bytes(dc_bits) + bytes(dc_vals))
    out += seg(0xC4, b"\x10" + bytes(ac_bits) + bytes(ac_vals))
    out += seg(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    # DC of a constant block = 8 * (grey - 128); quantised by 16.
    dc = 8 * (grey - 128) // 16
    assert 32 <= dc < 64  # category 6: code 1110, then 6 bits
    bits = "1110" + format(dc, "06b") + "1010"  # 1010 = EOB
    bits += "1" * (-len(bits) % 8)
    data = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    assert b"\xff" not in data
    return out + data + b"\xff\xd9"


# ---------------------------------------------------------------- H.264
class Bits:
    def __init__(self):
        self.s = ""

    def u(self, n, v):
        self.s += format(v, "0%db" % n) if n else ""

    def ue(self, v):
        b = format(v + 1, "b")
        self.s += "0" * (len(b) - 1) + b

    def se(self, v):
        self.ue(2 * v - 1 if v > 0 else -2 * v)

    def align_zero(self):
        self.s += "0" * (-len(self.s) % 8)

    def trailing(self):
        self.s += "1"
        self.align_zero()

    def bytes(self):
        assert len(self.s) % 8 == 0
        return bytes(int(self.s[i:i + 8], 2) for i in range(0, len(self.s), 8))


def nal(header, rbsp):
    out, zeros = bytearray([header]), 0
    for b in rbsp:  # emulation prevention
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def sps():
    b = Bits()
    b.u(8, 66); b.u(8, 0xC0); b.u(8, 10)  # Baseline, constraint_set0/1, level 1
    b.ue(0)  # seq_parameter_set_id
    b.ue(0)  # log2_max_frame_num_minus4
    b.ue(2)  # pic_order_cnt_type
    b.ue(1)  # max_num_ref_frames
    b.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    b.ue(0); b.ue(0)  # 1 x 1 macroblocks: 16x16
    b.u(1, 1)  # frame_mbs_only_flag
    b.u(1, 1)  # direct_8x8_inference_flag
    b.u(1, 0)  # frame_cropping_flag
    b.u(1, 0)  # vui_parameters_present_flag
    b.trailing()
    return nal(0x67, b.bytes())


def pps():
    b = Bits()
    b.ue(0); b.ue(0)  # pps id, sps id
    b.u(1, 0); b.u(1, 0)  # CAVLC, no bottom_field_pic_order
    b.ue(0)  # num_slice_groups_minus1
    b.ue(0); b.ue(0)  # num_ref_idx_l0/l1_default_active_minus1
    b.u(1, 0); b.u(2, 0)  # weighted pred / bipred
    b.se(0); b.se(0); b.se(0)  # pic_init_qp/qs, chroma_qp_index_offset
    b.u(1, 1)  # deblocking_filter_control_present_flag
    b.u(1, 0); b.u(1, 0)  # constrained_intra_pred, redundant_pic_cnt_present
    b.trailing()
    return nal(0x68, b.bytes())


def idr(idr_pic_id, luma, cb, cr):
    b = Bits()
    b.ue(0)  # first_mb_in_slice
    b.ue(7)  # slice_type I (all slices)
    b.ue(0)  # pic_parameter_set_id
    b.u(4, 0)  # frame_num
    b.ue(idr_pic_id)
    b.u(1, 0); b.u(1, 0)  # dec_ref_pic_marking: no_output_of_prior_pics, long_term
    b.se(0)  # slice_qp_delta
    b.ue(1)  # disable_deblocking_filter_idc
    b.ue(25)  # mb_type I_PCM
    b.align_zero()  # pcm_alignment_zero_bit
    for y in range(16):
        for x in range(16):
            b.u(8, luma + 4 * x + 2 * y)
    for v in (cb, cr):
        for _ in range(64):
            b.u(8, v)
    b.trailing()
    return nal(0x65, b.bytes())


# ---------------------------------------------------------------- MP4
def box(kind, *parts):
    body = b"".join(parts)
    return struct.pack(">I", 8 + len(body)) + kind + body


def full(kind, version, flags, *parts):
    return box(kind, struct.pack(">I", (version << 24) | flags), *parts)


MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def mp4(frames, fps):
    timescale, delta = 1000, 1000 // fps
    duration = delta * len(frames)
    s, p = sps(), pps()
    samples = [struct.pack(">I", len(f)) + f for f in frames]
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isom", b"iso2", b"avc1", b"mp41")

    def moov(chunk_offset):
        avcc = box(b"avcC", bytes([1, 66, 0xC0, 10, 0xFF, 0xE1]), struct.pack(">H", len(s)), s,
                   b"\x01", struct.pack(">H", len(p)), p)
        avc1 = box(b"avc1", b"\x00" * 6, struct.pack(">H", 1), b"\x00" * 16,
                   struct.pack(">HHIIIH", 16, 16, 0x480000, 0x480000, 0, 1), b"\x00" * 32,
                   struct.pack(">Hh", 0x18, -1), avcc)
        stbl = box(b"stbl",
                   full(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
                   full(b"stts", 0, 0, struct.pack(">III", 1, len(frames), delta)),
                   full(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, len(frames), 1)),
                   full(b"stsz", 0, 0, struct.pack(">II", 0, len(samples)),
                        b"".join(struct.pack(">I", len(x)) for x in samples)),
                   full(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset)))
        minf = box(b"minf", full(b"vmhd", 0, 1, b"\x00" * 8),
                   box(b"dinf", full(b"dref", 0, 0, struct.pack(">I", 1), full(b"url ", 0, 1))),
                   stbl)
        mdia = box(b"mdia",
                   full(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, duration,
                                                   0x55C4, 0)),
                   full(b"hdlr", 0, 0, b"\x00" * 4, b"vide", b"\x00" * 12, b"VideoHandler\x00"),
                   minf)
        tkhd = full(b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, 1, 0, duration), b"\x00" * 8,
                    struct.pack(">hhhH", 0, 0, 0, 0), MATRIX, struct.pack(">II", 16 << 16, 16 << 16))
        mvhd = full(b"mvhd", 0, 0, struct.pack(">IIIIIH", 0, 0, timescale, duration, 0x10000,
                                               0x100), b"\x00" * 10, MATRIX, b"\x00" * 24,
                    struct.pack(">I", 2))
        return box(b"moov", mvhd, box(b"trak", tkhd, mdia))

    head = len(ftyp) + len(moov(0)) + 8
    return ftyp + moov(head) + box(b"mdat", *samples)


def c_array(name, data):
    lines = ["const unsigned char %s[] = {" % name]
    for i in range(0, len(data), 12):
        lines.append("    " + ", ".join("0x%02x" % b for b in data[i:i + 12]) + ",")
    lines.append("};")
    lines.append("const size_t %s_len = sizeof %s;" % (name, name))
    return "\n".join(lines)


def main():
    jpg = jpeg_8x8(200)
    frames = [idr(i % 2, 40 + 20 * i, 90 + 10 * i, 160 - 10 * i) for i in range(5)]
    video = mp4(frames, 5)
    print("/* vas_double_media.c - the test double's built-in media: an 8x8 baseline JPEG")
    print(" * (%d bytes) and a 16x16, 5-frame H.264 MP4 (%d bytes)." % (len(jpg), len(video)))
    print(" * Generated by tests/vas/gen_media.py; do not edit by hand. */")
    print('#include "vas_double.h"\n')
    print(c_array("vas_double_jpeg", jpg))
    print()
    print(c_array("vas_double_mp4", video))


if __name__ == "__main__":
    main()
