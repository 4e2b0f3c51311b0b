"""Where a body site sits on the body-map figures (static/img/body-map.svg): the position a
lesion gets when it is placed by choosing its body site rather than by clicking the map.

Positions are fractions of the 200 x 470 figure, like ``Lesion.map_x``/``map_y``; both
views share the outline, so limbs and the head sit at the same place on either.
"""

from __future__ import annotations

from lesions.models import BodySite, BodyView

_BOTH = {
    BodySite.EAR: (0.385, 0.085),
    BodySite.NECK: (0.5, 0.151),
    BodySite.UPPER_EXTREMITY: (0.24, 0.34),
    BodySite.HAND: (0.18, 0.549),
    BodySite.ACRAL: (0.18, 0.549),
    BodySite.LOWER_EXTREMITY: (0.41, 0.745),
    BodySite.FOOT: (0.415, 0.968),
    BodySite.UNKNOWN: (0.5, 0.4),
}
SITE_POSITIONS: dict[str, dict[str, tuple[float, float]]] = {
    BodyView.FRONT: {
        **_BOTH,
        BodySite.SCALP: (0.5, 0.047),
        BodySite.FACE: (0.5, 0.096),
        BodySite.CHEST: (0.5, 0.255),
        BodySite.ABDOMEN: (0.5, 0.426),
        BodySite.TRUNK: (0.5, 0.426),
        BodySite.GENITAL: (0.5, 0.549),
        BodySite.BACK: (0.5, 0.32),
    },
    BodyView.BACK: {
        **_BOTH,
        BodySite.SCALP: (0.5, 0.081),
        BodySite.FACE: (0.5, 0.081),
        BodySite.BACK: (0.5, 0.32),
        BodySite.CHEST: (0.5, 0.32),
        BodySite.ABDOMEN: (0.5, 0.426),
        BodySite.TRUNK: (0.5, 0.534),
        BodySite.GENITAL: (0.5, 0.534),
    },
}


def site_position(body_site: str, body_view: str) -> tuple[float, float]:
    """The default (x, y) of a body site on the given view's figure."""
    positions = SITE_POSITIONS.get(body_view, SITE_POSITIONS[BodyView.FRONT])
    return positions.get(body_site, _BOTH[BodySite.UNKNOWN])
