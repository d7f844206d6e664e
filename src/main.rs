fn main() -> std::process::ExitCode {
    erasure::telemetry::init();
    erasure::cli::main()
}
