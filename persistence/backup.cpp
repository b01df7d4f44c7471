// Backups of a data directory and their restore (see durable/backup.hpp).
// Layout of a backup: `<env>/data.mdb` per environment, extra files by
// name, and `manifest.json` (written last) listing every file with its
// size and SHA-256.

#include "durable/backup.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "backup_io.hpp"
#include "data_file_check.hpp"
#include "durable/errc.hpp"

namespace durable {

using namespace detail;

namespace {

constexpr std::string_view data_file = "data.mdb";

constexpr size_t max_manifest_size = size_t{1} << 20;

constexpr jurisdiction all_jurisdictions[] = {
    jurisdiction::none, jurisdiction::eu, jurisdiction::fedramp,
    jurisdiction::fedramp_high, jurisdiction::us};

bool is_environment_name(std::string_view name) {
  for (auto j : all_jurisdictions)
    if (storage_name(j) == name)
      return true;
  return false;
}

// A plain name inside the backup: no directories, nothing hidden, not the
// manifest, not an environment.
bool is_plain_name(const std::string& name) {
  return !name.empty() && name.size() <= 255 && name[0] != '.' &&
         name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos && name != backup_manifest_name &&
         !is_environment_name(name);
}

caf::error damaged(const std::string& dir, const std::string& why) {
  return make_error(errc::storage_failure,
                    "backup '" + dir + "' is damaged: " + why);
}

std::string to_json(const backup_manifest& m) {
  auto files = nlohmann::json::array();
  for (auto& f : m.files)
    files.push_back(
        {{"path", f.path}, {"bytes", f.bytes}, {"sha256", f.sha256}});
  nlohmann::json doc{{"format", m.format},
                     {"created_ms", m.created_ms},
                     {"source", m.source},
                     {"environments", m.environments},
                     {"files", std::move(files)}};
  return doc.dump(2) + "\n";
}

// Parses and checks the manifest's shape: known format, safe paths, every
// environment listed with exactly one data file.
caf::expected<backup_manifest> parse_manifest(const std::string& dir,
                                              const std::string& text) {
  backup_manifest m;
  try {
    auto doc = nlohmann::json::parse(text);
    m.format = doc.at("format").get<std::string>();
    if (m.format != backup_format)
      return damaged(dir, "unknown manifest format \"" + m.format +
                              "\" (expected \"" + backup_format + "\")");
    m.created_ms = doc.at("created_ms").get<int64_t>();
    m.source = doc.at("source").get<std::string>();
    m.environments = doc.at("environments").get<std::vector<std::string>>();
    for (auto& f : doc.at("files"))
      m.files.push_back({f.at("path").get<std::string>(),
                         f.at("bytes").get<uint64_t>(),
                         f.at("sha256").get<std::string>()});
  } catch (const nlohmann::json::exception& e) {
    return damaged(dir, std::string{"its manifest is not valid: "} + e.what());
  }
  std::set<std::string> paths;
  for (auto& f : m.files) {
    auto slash = f.path.find('/');
    bool ok = slash == std::string::npos
                  ? is_plain_name(f.path)
                  : is_environment_name(f.path.substr(0, slash)) &&
                        f.path.substr(slash + 1) == data_file;
    if (!ok || f.sha256.size() != 64 || !paths.insert(f.path).second)
      return damaged(dir,
                     "its manifest lists an invalid file \"" + f.path + "\"");
  }
  for (auto& env : m.environments)
    if (!is_environment_name(env) ||
        paths.count(env + '/' + std::string{data_file}) == 0)
      return damaged(dir, "its manifest lists environment \"" + env +
                              "\" without its data file");
  if (m.environments.empty())
    return damaged(dir, "its manifest lists no environment");
  return m;
}

std::string env_dir(const std::string& root, const std::string& env) {
  return root + '/' + env;
}

} // namespace

// -- make_backup --------------------------------------------------------------

caf::expected<backup_manifest> make_backup(storage_engine& engine,
                                           const std::string& target,
                                           const backup_options& opts) {
  for (auto& [name, path] : opts.extra_files)
    if (!is_plain_name(name))
      return make_error(errc::invalid_argument, "backup: invalid name \"" +
                                                    name + "\" for file '" +
                                                    path + "'");
  if (auto err = check_empty_target(target, "backup target"))
    return err;
  // Jurisdictions first, global last (see the header).
  std::vector<jurisdiction> envs;
  for (auto j : engine.existing_jurisdictions())
    if (j != jurisdiction::none)
      envs.push_back(j);
  auto all = engine.existing_jurisdictions();
  if (std::find(all.begin(), all.end(), jurisdiction::none) != all.end())
    envs.push_back(jurisdiction::none);
  if (envs.empty())
    return make_error(errc::invalid_argument,
                      "data directory '" + engine.options().data_dir +
                          "' holds no storage environment: nothing to back "
                          "up");
  auto staging = staging_dir::make(target, "partial");
  if (!staging)
    return std::move(staging.error());
  auto& staged = staging->path();
  backup_manifest m;
  m.format = backup_format;
  m.source = engine.options().data_dir;
  for (auto j : envs) {
    auto name = std::string{storage_name(j)};
    auto dir = env_dir(staged, name);
    if (auto err = make_dir(dir))
      return err;
    auto path = dir + '/' + std::string{data_file};
    auto bytes = engine.copy_environment(j, path);
    if (!bytes)
      return std::move(bytes.error());
    // The copy must be a file the server would accept.
    if (auto err = check_data_file(name, dir))
      return err;
    uint64_t hashed = 0;
    auto sum = file_sha256(path, hashed);
    if (!sum)
      return std::move(sum.error());
    if (auto err = sync_dir(dir))
      return err;
    m.environments.push_back(name);
    m.files.push_back({name + '/' + std::string{data_file}, hashed, *sum});
  }
  for (auto& [name, from] : opts.extra_files) {
    uint64_t bytes = 0;
    auto sum = copy_file(from, staged + '/' + name, bytes);
    if (!sum)
      return std::move(sum.error());
    m.files.push_back({name, bytes, *sum});
  }
  m.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  if (auto err = write_file(staged + '/' + backup_manifest_name, to_json(m)))
    return err;
  if (auto err = staging->commit())
    return err;
  return m;
}

// -- verify_backup ------------------------------------------------------------

caf::expected<backup_manifest> verify_backup(const std::string& dir) {
  auto manifest_path = dir + '/' + backup_manifest_name;
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return make_error(errc::invalid_argument,
                      "no backup directory '" + dir + "'");
  if (::stat(manifest_path.c_str(), &st) != 0)
    return make_error(errc::invalid_argument,
                      "'" + dir + "' is not a complete backup: it has no " +
                          backup_manifest_name +
                          " (a backup cut short leaves none)");
  auto text = read_small_file(manifest_path, max_manifest_size);
  if (!text)
    return std::move(text.error());
  auto m = parse_manifest(dir, *text);
  if (!m)
    return m;
  for (auto& f : m->files) {
    auto path = dir + '/' + f.path;
    uint64_t bytes = 0;
    auto sum = file_sha256(path, bytes);
    if (!sum)
      return damaged(dir, message_of(sum.error()));
    if (bytes != f.bytes)
      return damaged(dir, "file '" + path + "' has " + std::to_string(bytes) +
                              " bytes, its manifest records " +
                              std::to_string(f.bytes) + " (truncated?)");
    if (*sum != f.sha256)
      return damaged(dir, "file '" + path +
                              "' does not match its SHA-256 in the manifest "
                              "(changed or corrupted since the backup)");
  }
  for (auto& env : m->environments)
    if (auto err = check_data_file(env, env_dir(dir, env)))
      return err;
  return m;
}

// -- restore_backup -----------------------------------------------------------

caf::expected<backup_manifest> restore_backup(const std::string& backup_dir,
                                              const std::string& data_dir,
                                              const restore_check& check) {
  if (auto err = check_empty_target(data_dir, "restore target"))
    return err;
  auto m = verify_backup(backup_dir);
  if (!m)
    return m;
  auto staging = staging_dir::make(data_dir, "restore");
  if (!staging)
    return std::move(staging.error());
  auto& staged = staging->path();
  for (auto& env : m->environments)
    if (auto err = make_dir(env_dir(staged, env)))
      return err;
  for (auto& f : m->files) {
    auto to = staged + '/' + f.path;
    uint64_t bytes = 0;
    auto sum = copy_file(backup_dir + '/' + f.path, to, bytes);
    if (!sum)
      return std::move(sum.error());
    // The backup may change between the check and the copy.
    if (bytes != f.bytes || *sum != f.sha256)
      return damaged(backup_dir, "file '" + backup_dir + '/' + f.path +
                                     "' changed while it was restored");
  }
  for (auto& env : m->environments) {
    auto dir = env_dir(staged, env);
    if (auto err = check_data_file(env, dir))
      return err;
    // A restored environment was initialised: a data file lost later must
    // be an error, not a new, empty environment.
    if (auto err = write_file(dir + '/' + std::string{initialised_marker}, ""))
      return err;
    if (auto err = sync_dir(dir))
      return err;
  }
  if (check)
    if (auto err = check(staged))
      return err;
  if (auto err = staging->commit())
    return err;
  return m;
}

} // namespace durable
