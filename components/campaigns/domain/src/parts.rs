//! A campaign's outcome announced in parts: `campaign.successful` and `campaign.failed`
//! each name at most [`PARTICIPANTS_PER_EVENT`] participants, so no event grows with
//! the campaign. A delivery's body is refused over 1 MiB, and a refused delivery is a
//! dead letter on every replay, which would leave a large campaign's buyers without
//! orders.

/// The most participants one `campaign.successful` or `campaign.failed` names. A
/// participant at the largest sizes a join accepts costs about 6.5 KB of JSON (four
/// 200-character address lines and a 255-character token, each character escaped to at
/// most six bytes), so a full `campaign.successful` is at most about 330 KB, under a
/// third of the 1 MiB limit: the campaigns tests measure it with 2,000 such
/// participants.
pub const PARTICIPANTS_PER_EVENT: usize = 50;

/// One event's share of a campaign's participants (or of their customer ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<T> {
    /// 1 to `parts`.
    pub part: u32,
    pub parts: u32,
    pub members: Vec<T>,
}

/// `members` in order, in consecutive parts of at most [`PARTICIPANTS_PER_EVENT`]. No
/// part is empty, except the one part of no members: an outcome that concerns nobody
/// is still announced.
pub fn split<T>(members: Vec<T>) -> Vec<Part<T>> {
    let parts = members.len().div_ceil(PARTICIPANTS_PER_EVENT).max(1);
    let parts = u32::try_from(parts).unwrap_or(u32::MAX);
    let mut members = members.into_iter();
    (1..=parts)
        .map(|part| Part {
            part,
            parts,
            members: members.by_ref().take(PARTICIPANTS_PER_EVENT).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(n: usize) -> Vec<(u32, u32, usize)> {
        split((0..n).collect::<Vec<_>>())
            .into_iter()
            .map(|part| (part.part, part.parts, part.members.len()))
            .collect()
    }

    #[test]
    fn parts_are_full_but_the_last() {
        let full = PARTICIPANTS_PER_EVENT;
        assert_eq!(sizes(1), [(1, 1, 1)]);
        assert_eq!(sizes(full), [(1, 1, full)]);
        assert_eq!(sizes(full + 1), [(1, 2, full), (2, 2, 1)]);
        assert_eq!(sizes(2 * full + 7), [(1, 3, full), (2, 3, full), (3, 3, 7)]);
    }

    #[test]
    fn nobody_is_one_empty_part() {
        assert_eq!(sizes(0), [(1, 1, 0)]);
    }

    #[test]
    fn the_parts_keep_every_member_once_in_order() {
        let members: Vec<usize> = (0..2_000).collect();
        let joined: Vec<usize> = split(members.clone())
            .into_iter()
            .flat_map(|part| part.members)
            .collect();
        assert_eq!(joined, members);
    }
}
