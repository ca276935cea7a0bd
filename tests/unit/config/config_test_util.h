// Assertions on the config loader's diagnostics, shared by the config tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"

namespace simpang::hub::testing {

// Every diagnostic, one per line, for failure messages.
inline std::string dump(const ConfigResult& result) {
  std::string out;
  for (const Diagnostic& d : result.diagnostics) {
    out += "  " + d.to_string() + "\n";
  }
  return out.empty() ? "  (no diagnostics)\n" : out;
}

// Passes when `result` holds a diagnostic at exactly line:column whose message contains `text`.
inline ::testing::AssertionResult HasDiagnostic(const ConfigResult& result, int line, int column,
                                                std::string_view text) {
  for (const Diagnostic& d : result.diagnostics) {
    if (d.where.line == line && d.where.column == column &&
        d.message.find(text) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure()
         << "no diagnostic at " << line << ":" << column << " containing \"" << text << "\"; got:\n"
         << dump(result);
}

}  // namespace simpang::hub::testing
