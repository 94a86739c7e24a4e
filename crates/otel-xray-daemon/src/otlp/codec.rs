//! The gRPC receiver's codec: tonic-prost's, except that a request is decoded from one
//! contiguous [`Bytes`] instead of through tonic's [`DecodeBuf`].
//!
//! prost reads a message through the `Buf` it is given: every tag, length and varint is a
//! `chunk()` and an `advance()` on it. On `DecodeBuf` each `advance` goes to the `BytesMut`
//! underneath (its offset bookkeeping) and each `bytes` field is split off it; on `Bytes`
//! both are a pointer and a length. The message is taken out of tonic's buffer whole first
//! (`copy_to_bytes`, which splits the `BytesMut` without copying), so the IDs decoded as
//! `Bytes` still share the receive buffer. The answers are encoded as tonic-prost does, and
//! a request that does not decode gets the same `INTERNAL` status it would.

use std::marker::PhantomData;

use bytes::Buf;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic::Status;
use tonic_prost::ProstCodec;

/// A [`Codec`] for the generated `TraceServiceServer` (`codec_path` in `build.rs`).
#[derive(Debug, Clone)]
pub(crate) struct ContiguousCodec<T, U> {
    _messages: PhantomData<(T, U)>,
}

impl<T, U> Default for ContiguousCodec<T, U> {
    fn default() -> Self {
        ContiguousCodec {
            _messages: PhantomData,
        }
    }
}

impl<T, U> Codec for ContiguousCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = <ProstCodec<T, U> as Codec>::Encoder;
    type Decoder = ContiguousDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        ContiguousDecoder {
            _message: PhantomData,
        }
    }
}

/// Decodes one `U` from the whole of a gRPC message (see the module documentation).
#[derive(Debug)]
pub(crate) struct ContiguousDecoder<U> {
    _message: PhantomData<U>,
}

impl<U: Message + Default> Decoder for ContiguousDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let message = buf.copy_to_bytes(buf.remaining());
        U::decode(message)
            .map(Some)
            // tonic-prost's answer to a message that does not decode.
            .map_err(|e| Status::internal(e.to_string()))
    }
}
