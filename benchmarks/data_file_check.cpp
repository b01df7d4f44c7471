// What does the structural check of a data file cost at start-up? Fills an
// environment with `--objects` objects (default 100 000), each with
// `--keys` small values of `--small` bytes (default 8 of 200) and one large
// value of `--big` bytes (default 8 192: an overflow run), then times the
// check every open runs before LMDB maps the file (meta pages and the walk
// of every tree page), cold (the file dropped from the page cache) and warm,
// against the baseline of reading the whole file once with pread.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "bench.hpp"
#include "data_file_check.hpp"
#include "durable/errc.hpp"
#include "durable/storage_engine.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

void fail(const std::string& what) {
  std::fprintf(stderr, "data_file_check: %s\n", what.c_str());
  std::exit(1);
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0)
      .count();
}

durable::object_bytes make_id(long i) {
  durable::object_bytes id{};
  for (size_t b = 0; b < sizeof(long); ++b)
    id[b] = static_cast<uint8_t>(i >> (8 * b));
  return id;
}

void fill(const std::string& dir, long objects, long keys, size_t small,
          size_t big, bench::progress& prog) {
  durable::storage_options opts;
  opts.data_dir = dir;
  auto eng = durable::storage_engine::open(opts);
  if (!eng)
    fail("cannot open the storage engine");
  // Many objects' write sets in flight at once: the writer groups them.
  constexpr long batch = 2000;
  for (long first = 0; first < objects; first += batch) {
    std::vector<std::future<caf::error>> done;
    std::vector<std::pair<durable::object_storage, uint64_t>> open;
    for (long i = first; i < std::min(objects, first + batch); ++i) {
      auto st = (*eng)->open_object(durable::jurisdiction::none, 1, make_id(i));
      if (!st)
        fail("cannot open an object");
      for (long k = 0; k < keys; ++k)
        if (st->put("key-" + std::to_string(k),
                    std::string(small, static_cast<char>('a' + k % 26))))
          fail("put failed");
      if (big > 0 && st->put("big", std::string(big, 'B')))
        fail("put failed");
      auto promise = std::make_shared<std::promise<caf::error>>();
      done.push_back(promise->get_future());
      auto ws = st->end_turn();
      auto seq = ws.seq();
      (*eng)->submit(std::move(ws), [promise](const caf::error& err) {
        promise->set_value(err);
      });
      open.emplace_back(std::move(*st), seq);
    }
    for (auto& f : done)
      if (f.get())
        fail("commit failed");
    for (auto& [st, seq] : open)
      st.committed(seq);
    prog.tick("filled " + std::to_string(first + batch) + " objects");
  }
}

// Drops the file's pages from the page cache (they are clean: LMDB synced
// them), so that the next read comes from the disk.
void drop_cache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0)
    fail("cannot open " + path);
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

double time_check(const std::string& dir, uint64_t& pages) {
  pages = 0;
  auto t0 = clock_type::now();
  auto err = durable::detail::check_data_file(
      "global", dir, true, [&](uint64_t, uint64_t n, auto) { pages += n; });
  auto ms = ms_since(t0);
  if (err)
    fail("the check refused a sound file: " + durable::message_of(err));
  return ms;
}

double time_read_all(const std::string& path) {
  auto t0 = clock_type::now();
  int fd = ::open(path.c_str(), O_RDONLY);
  std::vector<char> buf(1 << 20);
  off_t pos = 0;
  for (ssize_t n; (n = ::pread(fd, buf.data(), buf.size(), pos)) > 0;)
    pos += n;
  ::close(fd);
  return ms_since(t0);
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::options::parse(argc, argv);
  auto objects = opts.get("objects", opts.quick ? 10000 : 100000);
  auto keys = opts.get("keys", 8);
  auto small = static_cast<size_t>(opts.get("small", 200));
  auto big = static_cast<size_t>(opts.get("big", 8192));
  int runs = opts.quick ? 1 : opts.runs;
  char tmpl[] = "/tmp/durable-bench-check-XXXXXX";
  if (mkdtemp(tmpl) == nullptr)
    fail("mkdtemp failed");
  std::string data = std::string{tmpl} + "/data";
  std::string dir = data + "/global";
  std::string path = dir + "/data.mdb";
  bench::progress prog{"data_file_check"};
  fill(data, objects, keys, small, big, prog);
  prog.done();
  bench::report rep;
  rep.name = "data_file_check_cold";
  rep.unit = "ms";
  rep.baseline_name = "pread of the whole file, cold";
  std::vector<double> warm;
  std::vector<double> warm_read;
  uint64_t pages = 0;
  for (int r = 0; r < runs; ++r) {
    drop_cache(path);
    rep.runs.push_back(time_check(dir, pages));
    warm.push_back(time_check(dir, pages));
    drop_cache(path);
    rep.baseline_runs.push_back(time_read_all(path));
    warm_read.push_back(time_read_all(path));
  }
  auto bytes = std::filesystem::file_size(path);
  std::filesystem::remove_all(tmpl);
  rep.figures["warm_ms_median"] = bench::summary::of(warm).median;
  rep.figures["warm_read_all_ms_median"] = bench::summary::of(warm_read).median;
  rep.figures["file_mib"] = static_cast<double>(bytes) / (1 << 20);
  rep.figures["pages_walked"] = static_cast<double>(pages);
  rep.params["objects"] = std::to_string(objects);
  rep.params["keys"] = std::to_string(keys);
  rep.params["small"] = std::to_string(small);
  rep.params["big"] = std::to_string(big);
  bench::write(opts, rep);
  return 0;
}
