// durable-admin: namespaces, migrations and IDs.

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.hpp"
#include "durable/errc.hpp"
#include "durable/id_factory.hpp"
#include "durable/migration.hpp"
#include "durable/namespace_registry.hpp"
#include "durable/secret_fingerprint.hpp"
#include "json_output.hpp"

namespace admin {

using durable::namespace_record;
using durable::namespace_registry;

namespace {

constexpr size_t max_migration_file = size_t{16} << 20;

std::string jurisdiction_name(durable::jurisdiction j) {
  return std::string{durable::storage_name(j)};
}

} // namespace

caf::expected<namespace_record> require_namespace(const namespace_registry& reg,
                                                  const std::string& name) {
  auto rec = reg.find(name);
  if (!rec)
    return std::move(rec.error());
  if (!*rec)
    return durable::make_error(durable::errc::invalid_argument,
                               "unknown namespace " + json_quoted(name) +
                                   " (`durable-admin namespaces list` shows "
                                   "the recorded ones)");
  return std::move(**rec);
}

// -- namespaces list ----------------------------------------------------------

int namespaces_list(const options& opts) {
  auto view = registry_view::open(opts, false);
  if (!view)
    return fail(view.error());
  auto& reg = (*view)->local();
  auto page =
      reg.list(opts.page.value_or(1),
               opts.per_page.value_or(namespace_registry::default_per_page));
  if (!page)
    return fail(page.error());
  if (opts.json) {
    std::cout << durable::to_json(*page) << '\n';
    return exit_ok;
  }
  size_t name_w = 4, class_w = 5;
  for (auto& rec : page->result) {
    name_w = std::max(name_w, rec.name.size());
    class_w = std::max(class_w, rec.class_name.size());
  }
  std::cout << pad("ID", 34) << pad("NAME", name_w + 2)
            << pad("CLASS", class_w + 2) << "SCRIPT\n";
  for (auto& rec : page->result)
    std::cout << pad(rec.id, 34) << pad(rec.name, name_w + 2)
              << pad(rec.class_name, class_w + 2) << rec.script << '\n';
  auto& info = page->result_info;
  std::cout << "page " << info.page << " (" << info.count << " shown, "
            << info.per_page << " per page), " << info.total_count
            << " namespaces in total\n";
  return exit_ok;
}

// -- migrate ------------------------------------------------------------------

namespace {

// Reads a migration file of at most 16 MiB. Checks the kind and size before
// reading (a FIFO would block, /dev/zero never ends) and reads no more than
// the limit allows even if the file grows meanwhile.
int read_migration_file(const std::string& file, std::string& text) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return fail("cannot read migration file '" + file +
                    "': " + std::strerror(errno),
                exit_invalid);
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return fail("cannot read migration file '" + file +
                    "': " + std::strerror(errno),
                exit_invalid);
  if (!S_ISREG(st.st_mode))
    return fail("migration file '" + file + "' is not a regular file",
                exit_invalid);
  if (static_cast<uint64_t>(st.st_size) > max_migration_file)
    return fail("migration file '" + file + "' is larger than 16 MiB",
                exit_invalid);
  text.resize(max_migration_file + 1);
  size_t got = 0;
  while (got < text.size()) {
    auto n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail("cannot read migration file '" + file +
                      "': " + std::strerror(errno),
                  exit_invalid);
    if (n == 0)
      break;
    got += static_cast<size_t>(n);
  }
  if (got > max_migration_file)
    return fail("migration file '" + file + "' is larger than 16 MiB",
                exit_invalid);
  text.resize(got);
  return exit_ok;
}

} // namespace

int migrate(const options& opts) {
  auto& file = opts.args[0];
  std::string text;
  if (auto rc = read_migration_file(file, text); rc != exit_ok)
    return rc;
  auto migrations = durable::parse_migrations(text);
  if (!migrations)
    return fail(migrations.error(), file);
  auto view = registry_view::open(opts, true);
  if (!view)
    return fail(view.error(),
                opts.etcd_endpoints.empty()
                    ? "cannot open '" + opts.data_dir + "' for writing"
                    : "cannot open the shared registry");
  auto* shared = (*view)->shared();
  auto result = shared != nullptr ? shared->apply(*migrations)
                                  : (*view)->local().apply(*migrations);
  view->reset();
  if (!result) {
    // The list is validated before anything is written: a rejected list
    // changed nothing; a storage failure may leave earlier migrations
    // applied (running the file again completes it).
    auto rejected =
        durable::is(result.error(), durable::errc::invalid_argument);
    return fail(result.error(),
                rejected ? "migrations rejected, nothing applied"
                         : "migration failed (migrations before the failing "
                           "one may be applied; run the file again)");
  }
  if (opts.json) {
    auto deleted = json::array();
    for (auto& d : result->deleted)
      deleted.push_back({{"name", d.name},
                         {"id", d.id},
                         {"objects", d.removed.objects},
                         {"keys", d.removed.keys},
                         {"bytes", d.removed.bytes},
                         {"alarms", d.removed.alarms}});
    json out{{"applied", result->applied},
             {"skipped", result->skipped},
             {"deleted", std::move(deleted)}};
    std::cout << to_text(out) << '\n';
    return exit_ok;
  }
  for (auto& tag : result->skipped)
    std::cout << "skipped " << tag << " (applied before)\n";
  for (auto& tag : result->applied)
    std::cout << "applied " << tag << '\n';
  for (auto& d : result->deleted)
    std::cout << "deleted class " << d.name << ": removed " << d.removed.objects
              << " objects, " << d.removed.keys << " keys (" << d.removed.bytes
              << " bytes), " << d.removed.alarms << " alarms\n";
  if (result->applied.empty())
    std::cout << "nothing to apply\n";
  return exit_ok;
}

// -- id from-name / id check --------------------------------------------------

int id_from_name(const options& opts) {
  auto j = durable::jurisdiction::none;
  if (opts.jurisdiction) {
    auto parsed = durable::parse_jurisdiction(*opts.jurisdiction);
    if (!parsed)
      return fail(parsed.error());
    j = *parsed;
  }
  auto ns = open_namespace(opts);
  if (!ns)
    return fail(ns.error());
  auto& rec = ns->record;
  auto& ids = ns->ids;
  auto id = ids.from_name(opts.args[1], j);
  if (opts.json)
    std::cout << to_text({{"namespace", rec.name},
                          {"name", opts.args[1]},
                          {"jurisdiction", jurisdiction_name(j)},
                          {"id", id.to_string()}})
              << '\n';
  else
    std::cout << id.to_string() << '\n';
  return exit_ok;
}

int id_check(const options& opts) {
  auto ns = open_namespace(opts);
  if (!ns)
    return fail(ns.error());
  auto& rec = ns->record;
  auto& ids = ns->ids;
  auto id = ids.from_string(opts.args[1]);
  if (!id) {
    if (opts.json)
      std::cout << to_text({{"valid", false},
                            {"error", durable::message_of(id.error())}})
                << '\n';
    return fail(id.error(), "not an ID of namespace " + json_quoted(rec.name));
  }
  auto j = jurisdiction_name(id->jurisdiction());
  auto kind = id->is_named() ? "named" : "unique";
  if (opts.json)
    std::cout << to_text({{"valid", true},
                          {"id", id->to_string()},
                          {"namespace", rec.name},
                          {"kind", kind},
                          {"jurisdiction", j}})
              << '\n';
  else
    std::cout << "valid " << kind << " ID of namespace " << rec.name
              << ", jurisdiction " << j << '\n';
  return exit_ok;
}

// -- secret adopt -------------------------------------------------------------

int secret_adopt(const options& opts) {
  auto secret = load_secret(opts);
  if (!secret)
    return fail(secret.error());
  auto engine = open_engine(opts, true);
  if (!engine)
    return fail(engine.error(),
                "cannot open '" + opts.data_dir + "' for writing");
  auto err = durable::adopt_secret(**engine, *secret);
  (*engine)->shutdown();
  if (err)
    return fail(err);
  if (opts.json)
    std::cout << to_text(
                     {{"adopted", true},
                      {"fingerprint", durable::secret_fingerprint(*secret)}})
              << '\n';
  else
    std::cout << "the data directory now accepts this deployment secret "
                 "(fingerprint "
              << durable::secret_fingerprint(*secret) << ")\n";
  return exit_ok;
}

} // namespace admin
