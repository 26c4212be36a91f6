//! VP8 payload facts the forwarder needs (RFC 7741): whether a packet starts a keyframe. Switching
//! a subscriber to another person or layer must start at one, or its decoder shows garbage.

/// Whether this VP8 RTP payload is the first packet of a keyframe: the payload descriptor's S bit
/// set with partition index 0, and the VP8 frame tag's inverse key-frame bit clear.
pub fn is_keyframe_start(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let extended = first & 0x80 != 0;
    let start = first & 0x10 != 0;
    let partition = first & 0x07;
    if !start || partition != 0 {
        return false;
    }
    let mut at = 1;
    if extended {
        let Some(&x) = payload.get(at) else {
            return false;
        };
        at += 1;
        if x & 0x80 != 0 {
            // PictureID: 7 or 15 bits (the M bit says which).
            let Some(&pid) = payload.get(at) else {
                return false;
            };
            at += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            at += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            at += 1; // TID / KEYIDX
        }
    }
    payload.get(at).is_some_and(|tag| tag & 0x01 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_descriptor_keyframe_and_delta() {
        assert!(is_keyframe_start(&[0x10, 0x00, 0x9d, 0x01, 0x2a]));
        assert!(!is_keyframe_start(&[0x10, 0x01]));
        // Not the start of the frame: never a switch point.
        assert!(!is_keyframe_start(&[0x00, 0x00]));
        assert!(!is_keyframe_start(&[]));
        assert!(!is_keyframe_start(&[0x10]));
    }

    #[test]
    fn extended_descriptors_as_chrome_sends_them() {
        // X, I with a 15-bit picture id, L, T/K: four descriptor bytes before the frame tag.
        assert!(is_keyframe_start(&[
            0x90, 0xe0, 0x81, 0x23, 0x05, 0x20, 0x50
        ]));
        assert!(!is_keyframe_start(&[
            0x90, 0xe0, 0x81, 0x23, 0x05, 0x20, 0x51
        ]));
        // X, I with a 7-bit picture id only.
        assert!(is_keyframe_start(&[0x90, 0x80, 0x11, 0x00]));
        // Truncated: not a keyframe, no panic.
        assert!(!is_keyframe_start(&[0x90, 0xe0, 0x81]));
    }
}
