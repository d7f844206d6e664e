fn main() -> std::process::ExitCode {
    erasure::memory::limit_malloc_arenas();
    erasure::telemetry::init();
    erasure::cli::main()
}
