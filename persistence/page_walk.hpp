#pragma once

// Internal header of the persistence layer (never installed): a structural
// walk of an LMDB data file with plain reads, before LMDB maps it. LMDB
// trusts every page it follows: a branch page whose node offsets point
// outside the page, or a child page number beyond the file, faults (SIGSEGV,
// SIGBUS) or trips an assertion inside LMDB. The walk follows the same
// pointers first and refuses the file instead.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace durable::detail {

/// A B-tree's record as LMDB stores it (its MDB_db: 48 bytes in the meta
/// page for the free-page and main trees, in the main tree's node data for
/// each named database).
struct tree_record {
  uint16_t flags = 0;
  uint16_t depth = 0;
  uint64_t entries = 0;
  uint64_t root = 0;
};

/// The size of a stored tree record (LMDB's sizeof(MDB_db) on 64-bit hosts).
constexpr size_t tree_record_size = 48;

/// Reads a tree record from its `tree_record_size` stored bytes.
tree_record load_tree_record(const unsigned char* bytes);

/// What a page the walk reached holds.
enum class page_role { branch, leaf, overflow };

/// Called for every run of pages the walk reached: `count` pages from
/// `first` (more than one only for the pages of a large value).
using page_visitor =
    std::function<void(uint64_t first, uint64_t count, page_role role)>;

/// The snapshot to walk: what the newer meta page of the file says.
struct walk_input {
  int fd = -1;
  uint32_t page_size = 0;
  /// The last page the snapshot uses. The file may end before it (LMDB
  /// does not write a page freed in the transaction that allocated it); a
  /// page the walk reaches beyond the end is damage.
  uint64_t last_pg = 0;
  tree_record free_tree;
  tree_record main_tree;
};

/// Walks the free-page tree, the main tree and every named database the
/// main tree records, reading one page at a time with pread (memory: one
/// page per tree level and one bit per page). Checks every page it reaches:
/// its number, kind and level, its bounds of free space, that every node
/// and every key lies inside the page, that child and overflow page
/// numbers lie inside the snapshot, that no page is reached twice, that
/// the leaves hold as many entries as the tree records, and that the lists
/// of free pages name pages inside the snapshot. Returns what is wrong
/// (naming the page and the database), or nothing for a sound file.
/// Databases with duplicate keys (MDB_DUPSORT), which caf-durable never
/// creates, are refused.
std::optional<std::string> walk_data_file(const walk_input& in,
                                          const page_visitor& visit = {});

} // namespace durable::detail
