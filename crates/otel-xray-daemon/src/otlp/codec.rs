//! The gRPC receiver's codec: answers are encoded as tonic-prost encodes them; a request is
//! handed over as its bytes, one contiguous [`Bytes`], for the receiver to read
//! (`convert/wire.rs` reads spans for translation straight from them; the forwarder decodes
//! them with prost).
//!
//! The message is taken out of tonic's buffer whole (`copy_to_bytes`, which splits the
//! `BytesMut` without copying). A request that is not an `ExportTraceServiceRequest` is
//! answered `INTERNAL` by the receiver, the status tonic-prost's decoder gives it.

use std::marker::PhantomData;

use bytes::{Buf, Bytes};
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic::Status;
use tonic_prost::ProstCodec;

/// A [`Codec`] for the generated `TraceServiceServer` (`codec_path` in `build.rs`): `T` is
/// the answer, encoded by prost; requests are [`Bytes`].
#[derive(Debug, Clone)]
pub(crate) struct RequestBytesCodec<T, U> {
    _messages: PhantomData<(T, U)>,
}

impl<T, U> Default for RequestBytesCodec<T, U> {
    fn default() -> Self {
        RequestBytesCodec {
            _messages: PhantomData,
        }
    }
}

impl<T> Codec for RequestBytesCodec<T, Bytes>
where
    T: Message + Send + 'static,
{
    type Encode = T;
    type Decode = Bytes;
    type Encoder = <ProstCodec<T, ()> as Codec>::Encoder;
    type Decoder = RequestBytes;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, ()>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestBytes
    }
}

/// Hands a request over as its bytes.
#[derive(Debug)]
pub(crate) struct RequestBytes;

impl Decoder for RequestBytes {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(buf.copy_to_bytes(buf.remaining())))
    }
}
