using System.Runtime.InteropServices;

namespace Steer.Tun.Linux;

internal static partial class Interop
{
    /// <summary>The few libnftables functions needed to run a command buffer (see <c>libnftables(3)</c>).</summary>
    internal static partial class Nftables
    {
        /// <summary>NFT_CTX_DEFAULT.</summary>
        internal const uint NFT_CTX_DEFAULT = 0;

        /// <summary><c>struct nft_ctx *nft_ctx_new(uint32_t flags);</c></summary>
        [LibraryImport(Libraries.Nftables)]
        internal static partial SafeNftContextHandle nft_ctx_new(uint flags);

        /// <summary><c>void nft_ctx_free(struct nft_ctx *ctx);</c></summary>
        [LibraryImport(Libraries.Nftables)]
        internal static partial void nft_ctx_free(nint ctx);

        /// <summary><c>int nft_ctx_buffer_output(struct nft_ctx *ctx);</c></summary>
        [LibraryImport(Libraries.Nftables)]
        internal static partial int nft_ctx_buffer_output(SafeNftContextHandle ctx);

        /// <summary><c>int nft_ctx_buffer_error(struct nft_ctx *ctx);</c></summary>
        [LibraryImport(Libraries.Nftables)]
        internal static partial int nft_ctx_buffer_error(SafeNftContextHandle ctx);

        /// <summary><c>const char *nft_ctx_get_output_buffer(struct nft_ctx *ctx);</c></summary>
        [LibraryImport(Libraries.Nftables)]
        internal static partial nint nft_ctx_get_output_buffer(SafeNftContextHandle ctx);

        /// <summary><c>const char *nft_ctx_get_error_buffer(struct nft_ctx *ctx);</c></summary>
        [LibraryImport(Libraries.Nftables)]
        internal static partial nint nft_ctx_get_error_buffer(SafeNftContextHandle ctx);

        /// <summary><c>int nft_run_cmd_from_buffer(struct nft_ctx *nft, const char *buf);</c></summary>
        [LibraryImport(Libraries.Nftables, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int nft_run_cmd_from_buffer(SafeNftContextHandle ctx, string buf);
    }
}
