#include "cli.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <sys/stat.h>
#include <unistd.h>

#include "durable/config.hpp"
#include "durable/errc.hpp"
#include "durable/hex.hpp"
#include "durable/secret_fingerprint.hpp"

namespace admin {

using durable::errc;

// -- errors -------------------------------------------------------------------

int fail(const std::string& text, int code) {
  std::fprintf(stderr, "durable-admin: %s\n", text.c_str());
  return code;
}

int fail(const caf::error& err, const std::string& context) {
  auto text = durable::message_of(err);
  if (!context.empty())
    text = context + ": " + text;
  if (err.category() != durable::durable_category)
    return fail(text, exit_storage);
  switch (static_cast<errc>(err.code())) {
  case errc::invalid_argument:
  case errc::invalid_id:
  case errc::wrong_namespace:
  case errc::wrong_jurisdiction:
  case errc::unsupported_jurisdiction:
  case errc::unsupported_location_hint:
    return fail(text, exit_invalid);
  case errc::unavailable:
    // Only taking an environment's lock for writing yields this here.
    return fail(text + " (a running server holds the data directory: "
                       "stop it, or apply migrations through "
                       "deployment::migrate)",
                exit_busy);
  default:
    return fail(text, exit_storage);
  }
}

// -- opening ------------------------------------------------------------------

namespace {

caf::error unreadable(const std::string& path, int err) {
  return durable::make_os_error("storage failure", "read", path, err);
}

// The engine treats an environment whose data file it cannot see as absent;
// for the tool that would report a broken directory as an empty one.
// Opens every environment present on disk (which checks its data file) and
// fails on any that cannot be read.
caf::error check_environments(durable::storage_engine& engine,
                              const std::string& data_dir) {
  using durable::jurisdiction;
  for (auto j : {jurisdiction::none, jurisdiction::eu, jurisdiction::fedramp,
                 jurisdiction::fedramp_high, jurisdiction::us}) {
    auto dir = data_dir + '/' + std::string{durable::storage_name(j)};
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) {
      if (errno == ENOENT)
        continue;
      return unreadable(dir, errno);
    }
    auto data = dir + "/data.mdb";
    if (::stat(data.c_str(), &st) != 0) {
      if (errno != ENOENT)
        return unreadable(data, errno);
      auto marker = dir + "/initialised";
      if (::stat(marker.c_str(), &st) == 0)
        return durable::make_error(errc::storage_failure,
                                   "data file '" + data +
                                       "' is missing although the "
                                       "environment was initialised before");
      continue; // never initialised: no environment
    }
    if (::access(data.c_str(), R_OK) != 0)
      return unreadable(data, errno);
    if (auto size = engine.map_size(j); !size)
      return std::move(size.error());
  }
  return caf::none;
}

} // namespace

caf::expected<std::shared_ptr<durable::storage_engine>>
open_engine(const options& opts, bool write) {
  struct stat st;
  if (::stat(opts.data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return durable::make_error(errc::invalid_argument,
                               "no data directory '" + opts.data_dir + "'");
  durable::storage_options sopts;
  sopts.data_dir = opts.data_dir;
  sopts.read_only = !write;
  sopts.max_readers = 126;
  auto engine = durable::storage_engine::open(std::move(sopts));
  if (!engine)
    return std::move(engine.error());
  std::shared_ptr<durable::storage_engine> result = std::move(*engine);
  if (auto err = check_environments(*result, opts.data_dir))
    return err;
  if (write) {
    // Take every existing environment's lock before changing anything, so
    // that a running server is found before the first write.
    for (auto j : result->existing_jurisdictions())
      if (auto w = result->writer(j); !w)
        return std::move(w.error());
  }
  return result;
}

caf::expected<durable::deployment_secret> load_secret(const options& opts) {
  // The same sources as a deployment: DURABLE_SECRET first, then the file.
  if (auto env = std::getenv(durable::secret_env_var);
      env != nullptr && *env != '\0')
    return durable::deployment_secret::from_hex(env);
  auto path =
      opts.secret_file.empty() ? opts.data_dir + "/secret" : opts.secret_file;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return durable::make_error(
        errc::invalid_argument,
        "no deployment secret '" + path +
            "' (a deployment creates it on first start; or pass "
            "--secret-file)");
  return durable::deployment_secret::load_or_create(path);
}

caf::expected<namespace_view> open_namespace(const options& opts) {
  auto engine = open_engine(opts, false);
  if (!engine)
    return std::move(engine.error());
  auto rec =
      require_namespace(durable::namespace_registry{*engine}, opts.args[0]);
  if (!rec)
    return std::move(rec.error());
  auto secret = load_secret(opts);
  if (!secret)
    return std::move(secret.error());
  // IDs made from another secret would all look invalid or wrong.
  if (auto err = durable::check_secret_fingerprint(**engine, *secret))
    return err;
  durable::id_factory ids{*secret, rec->id};
  return namespace_view{std::move(*engine), std::move(*rec), std::move(ids)};
}

// -- rendering ----------------------------------------------------------------

std::string display(std::string_view bytes, size_t max, bool& truncated) {
  truncated = bytes.size() > max;
  if (truncated)
    bytes = bytes.substr(0, max);
  std::string out;
  for (auto ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
    case '\\':
      out += "\\\\";
      break;
    case '"':
      out += "\\\"";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c >= 0x20 && c < 0x7F) {
        out += static_cast<char>(c);
      } else {
        out += "\\x";
        durable::append_hex(out, c);
      }
    }
  }
  return out;
}

std::string iso_time(int64_t ms) {
  auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (::gmtime_r(&secs, &tm) == nullptr)
    return std::to_string(ms) + " ms";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string pad(std::string x, size_t width) {
  if (x.size() < width)
    x.append(width - x.size(), ' ');
  return x;
}

} // namespace admin
