"""LLVM backend (llvmlite): lower.py lowers the loop IR to LLVM IR, runtime.py compiles, installs and calls it."""
