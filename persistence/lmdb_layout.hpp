#pragma once

// Internal header of the persistence layer (never installed): LMDB's on-disk
// layout, for the checks that read a data file with plain reads before LMDB
// maps it (data_file_check.cpp, page_walk.cpp). It is LMDB 0.9's format on
// 64-bit hosts (stable since 0.9.0: the data version is 1), all numbers in
// host byte order:
//   page header (16 bytes): pgno (8), pad (2), flags (2), then either
//     lower (2) and upper (2): the free space between the node offsets and
//     the nodes of a branch or leaf page, or pages (4): the length of an
//     overflow run (the first page of a large value);
//   meta page (pages 0 and 1), MDB_meta at offset 16: magic (4), version
//     (4), address (8), mapsize (8), the free-page and the main tree's
//     records (48 each; the first one's pad is the page size), last_pg (8),
//     txnid (8);
//   branch and leaf pages: (lower - 16) / 2 node offsets of 2 bytes from
//     byte 16; a node: lo (2), hi (2), flags (2), key size (2), the key and,
//     in a leaf, the data. A branch node's child page number is lo | hi << 16
//     | flags << 32; a leaf node's data size is lo | hi << 16. Leaf flags:
//     1 = the data is the page number of an overflow run, 2 = the data is a
//     named database's record, 4 = duplicate keys;
//   tree record (MDB_db, 48 bytes): pad (4), flags (2), depth (2), branch,
//     leaf and overflow page counts (8 each), entries (8), root (8);
//   free-page tree: key = transaction ID (8), data = a count n (8) and at
//     least n page numbers (8 each).

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace durable::detail::lmdb_layout {

constexpr size_t page_header_size = 16;
constexpr size_t flags_offset = 10;
constexpr uint16_t p_branch = 0x01;
constexpr uint16_t p_leaf = 0x02;
constexpr uint16_t p_overflow = 0x04;
constexpr uint16_t p_meta = 0x08;

// The meta page: offsets from the page's start.
constexpr uint32_t mdb_magic = 0xBEEFC0DE;
constexpr uint32_t mdb_data_version = 1;
constexpr size_t magic_offset = 16;
constexpr size_t version_offset = 20;
constexpr size_t psize_offset = 40;
constexpr size_t free_tree_offset = 40;
constexpr size_t main_tree_offset = 88;
constexpr size_t last_pg_offset = 136;
constexpr size_t txnid_offset = 144;
constexpr size_t meta_bytes = 152;
constexpr uint64_t min_page_size = 512;
constexpr uint64_t max_page_size = 65536;

/// Reads a `T` at `offset` of `buf` (host order, as LMDB writes it).
template <class T>
T load(const unsigned char* buf, size_t offset) {
  T x;
  std::memcpy(&x, buf + offset, sizeof(T));
  return x;
}

} // namespace durable::detail::lmdb_layout
