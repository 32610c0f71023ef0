// Fuzz target: the snm.toml loader (TOML parsing, typing, every check).
// Whatever the input, it must return diagnostics or a config — never crash,
// hang, or leak — and a returned config must carry no error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto loaded = snm::load_config_text(text, "fuzz.toml");
    if (loaded.config && snm::has_errors(loaded.diagnostics)) __builtin_trap();
    for (const auto& diagnostic : loaded.diagnostics) (void)diagnostic.format();
    return 0;
}
