/* A stand-in bcryptprimitives.dll for running Rust programs under Wine 8
 * (Debian bookworm's): Rust's standard library (1.78 and later) takes its
 * random bytes from ProcessPrng in bcryptprimitives.dll, which Wine gained
 * only in 9.0. This one asks RtlGenRandom (advapi32's SystemFunction036),
 * which Wine has. Test harness only: never shipped. */
#include <windows.h>

BOOLEAN NTAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        length -= n;
    }
    return TRUE;
}
