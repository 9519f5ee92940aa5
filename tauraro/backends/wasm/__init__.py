"""WebAssembly backend (wasmtime/Cranelift): lower.py lowers the loop IR to wasm, runtime.py compiles, installs and calls it."""
