#pragma once

// A scratch certificate authority for tests and benchmarks of the cluster:
// a CA and certificates signed by it, made with the openssl CLI at run time
// (nothing secret is committed).

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace durable::test {

/// A CA named `ca` and the certificates it issues, all in `dir`.
class test_pki {
public:
  test_pki(std::string dir, const std::string& ca) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    ca_ = dir_ + "/" + ca;
    openssl("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + ca +
            " -keyout '" + ca_ + ".key' -out '" + ca_ + ".pem'");
  }

  /// Makes `name`.pem and `name`.key, signed by this CA.
  void issue(const std::string& name) const {
    auto base = dir_ + "/" + name;
    openssl("req -newkey rsa:2048 -nodes -subj /CN=" + name + " -keyout '" +
            base + ".key' -out '" + base + ".csr'");
    openssl("x509 -req -in '" + base + ".csr' -CA '" + ca_ + ".pem' -CAkey '" +
            ca_ + ".key' -CAcreateserial -days 2 -out '" + base + ".pem'");
  }

  const std::string& dir() const noexcept { return dir_; }

  std::string ca_file() const { return ca_ + ".pem"; }

  std::string cert(const std::string& name) const {
    return dir_ + "/" + name + ".pem";
  }

  std::string key(const std::string& name) const {
    return dir_ + "/" + name + ".key";
  }

private:
  static void openssl(const std::string& args) {
    auto cmd = "openssl " + args + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("failed: " + cmd);
  }

  std::string dir_;
  std::string ca_;
};

} // namespace durable::test
