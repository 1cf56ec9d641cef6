// Anchor translation unit so hetsched_env is a real library from the first commit.
namespace hetsched::env {
const char* library_name() noexcept { return "hetsched_env"; }
}  // namespace hetsched::env
