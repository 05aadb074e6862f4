# bcryptprimitives.s - a stand-in for Windows' bcryptprimitives.dll, for Wine 8.
#
# Why this exists: every Go >= 1.22 Windows binary imports ProcessPrng from
# bcryptprimitives.dll and dies with "bcryptprimitives.dll not found" when it is
# missing. Wine only ships that DLL from 9.x; Debian 12 has Wine 8.0. This file
# provides the one export Go needs by forwarding to advapi32's SystemFunction036
# (RtlGenRandom), which Wine 8 does implement. It is only ever loaded inside
# the test Wine prefix; see scripts/wine/build-shim and docs in go-wine-exec.
#
# Hand-written assembly so the only build dependency is binutils-mingw-w64
# (no C cross-compiler). Windows x64 calling convention applies throughout:
#   - arguments in rcx, rdx, r8, r9; return value in rax (BOOL = 32-bit eax);
#   - the caller reserves 32 bytes of "shadow space" above the return address
#     for every call it makes, and rsp must be 16-byte aligned at the call;
#   - rbx, rbp, rdi, rsi, r12-r15 are callee-saved.
# The .seh_* directives emit unwind info (.pdata/.xdata) so that Windows (and
# Wine) can unwind through ProcessPrng if an exception ever passes through it.

        .intel_syntax noprefix
        .text

# BOOL WINAPI DllMain(HINSTANCE, DWORD reason, LPVOID) -- nothing to set up
# or tear down, so accept every notification.
        .globl  DllMain
        .def    DllMain; .scl 2; .type 32; .endef
        .seh_proc DllMain
DllMain:
        .seh_endprologue
        mov     eax, 1
        ret
        .seh_endproc

# BOOL WINAPI ProcessPrng(PBYTE buffer, SIZE_T length)
#
# Documented to always succeed on Windows; we return FALSE if RtlGenRandom
# ever fails so the Go runtime notices instead of using an unfilled buffer.
# RtlGenRandom takes a ULONG length, so the buffer is filled in chunks of at
# most 0x40000000 bytes (a round size comfortably below 4 GiB).
        .globl  ProcessPrng
        .def    ProcessPrng; .scl 2; .type 32; .endef
        .seh_proc ProcessPrng
ProcessPrng:
        # Three pushes + 32 bytes: entry rsp is 8 mod 16 (return address),
        # 3*8 more makes it 0 mod 16, and 32 keeps it aligned while providing
        # the callee's shadow space.
        push    rbx                     # rbx = current position in buffer
        .seh_pushreg rbx
        push    rsi                     # rsi = bytes still to fill
        .seh_pushreg rsi
        push    rdi                     # rdi = size of the current chunk
        .seh_pushreg rdi
        sub     rsp, 32
        .seh_stackalloc 32
        .seh_endprologue

        mov     rbx, rcx
        mov     rsi, rdx
.Lloop:
        test    rsi, rsi                # zero length (or done): success
        jz      .Lsuccess
        mov     edi, 0x40000000         # chunk = min(remaining, 0x40000000)
        cmp     rsi, rdi
        cmovb   rdi, rsi
        mov     rcx, rbx                # RtlGenRandom(position, chunk)
        mov     edx, edi
        call    [rip + __imp_SystemFunction036]
        test    al, al                  # returns BOOLEAN: only al is defined
        jz      .Lfailure
        add     rbx, rdi
        sub     rsi, rdi
        jmp     .Lloop

.Lsuccess:
        mov     eax, 1
        jmp     .Lreturn
.Lfailure:
        xor     eax, eax
.Lreturn:
        add     rsp, 32
        pop     rdi
        pop     rsi
        pop     rbx
        ret
        .seh_endproc
