"""Drawing the frames of one recording as one camera view sees them."""
from typing import Iterator, Sequence, Tuple

import cv2
import numpy as np

from .motion import PROPS, SceneTimeline
from .plan import Participant

Color = Tuple[float, float, float]

# Per view: (mirrored, scale, shift in frame heights, grey). Every view sees
# the same scene through a different geometry.
VIEW_GEOMETRY = {
    'inner_mirror': (False, 1.0, (0.0, 0.0), False),
    'a_column_co_driver': (True, 0.9, (0.08, 0.02), False),
    'ceiling': (False, 0.8, (0.0, -0.08), False),
    'steering_wheel': (False, 1.2, (0.05, 0.05), False),
    'a_column_driver': (True, 1.1, (-0.06, 0.0), False),
    'kinect_color': (False, 0.9, (-0.05, 0.04), False),
    'kinect_ir': (True, 0.95, (0.03, -0.03), True),
}

# Body sizes in units of the participant's scale.
_HEAD_RADIUS = 0.1
_HAND_RADIUS = 0.05
_TORSO_AXES = (0.17, 0.24)
_SHOULDERS = ((-0.13, -0.17), (0.13, -0.17))
_ARM_SEGMENT = 0.24
_ARM_WIDTH = 0.07
_NOISE_STD = 3.0
_NOISE_BANK = 32
# Sub-pixel precision of the cv2 drawing calls (coordinates times 2**4).
_DRAW_SHIFT = 4

_PROP_COLORS = {
    'bottle': (200, 110, 30),
    'food': (40, 170, 230),
    'phone': (35, 35, 35),
    'belt': (45, 45, 45),
    'laptop': (150, 150, 150),
    'laptop_in_hand': (150, 150, 150),
    'sunglasses': (60, 20, 20),
    'jacket': (60, 60, 170),
    'box': (60, 150, 90),
    'backpack': (40, 70, 110),
    'magazine': (215, 215, 240),
    'newspaper': (200, 200, 200),
    'paper': (235, 235, 235),
}


class ViewGeometry:
    """Maps scene coordinates (frame heights) to pixels of one view.

    Args:
        view (str): A key of :data:`VIEW_GEOMETRY`.
        frame_size (tuple[int, int]): ``(height, width)``.
    """

    def __init__(self, view: str, frame_size: Tuple[int, int]) -> None:
        mirrored, scale, shift, self.grey = VIEW_GEOMETRY[view]
        self.height, width = frame_size
        self.scale = scale
        # point() is an affine map to cv2 fixed point, precomputed.
        aspect = width / self.height
        unit = self.height * 2**_DRAW_SHIFT
        center_x = aspect / 2
        if mirrored:  # x -> aspect - x first
            self._x = (-scale * unit,
                       (center_x + scale * (aspect - center_x) + shift[0]) *
                       unit)
        else:
            self._x = (scale * unit,
                       (center_x - scale * center_x + shift[0]) * unit)
        self._y = (scale * unit, (0.5 - 0.5 * scale + shift[1]) * unit)

    def point(self, xy: Sequence[float]) -> Tuple[int, int]:
        """Pixel position in cv2 fixed point (``_DRAW_SHIFT`` bits)."""
        return (round(self._x[0] * xy[0] + self._x[1]),
                round(self._y[0] * xy[1] + self._y[1]))

    def length(self, value: float) -> int:
        """A length in cv2 fixed point."""
        return max(1, round(value * self.scale * self.height * 2**_DRAW_SHIFT))

    def pixels(self, value: float) -> int:
        """A line thickness in whole pixels."""
        return max(1, round(value * self.scale * self.height))


class _Canvas:
    """cv2 drawing in scene coordinates on one frame."""

    def __init__(self, frame: np.ndarray, geometry: ViewGeometry) -> None:
        self.frame = frame
        self.geometry = geometry

    def disc(self, xy: Sequence[float], radius: float, color: Color) -> None:
        cv2.circle(self.frame, self.geometry.point(xy),
                   self.geometry.length(radius), color, -1,
                   cv2.LINE_AA, _DRAW_SHIFT)

    def box(self, xy: Sequence[float], half_size: Tuple[float, float],
            color: Color) -> None:
        x, y = xy
        dx, dy = half_size
        corners = [self.geometry.point((x - dx, y - dy)),
                   self.geometry.point((x + dx, y + dy))]
        (x0, y0), (x1, y1) = corners
        cv2.rectangle(self.frame, (min(x0, x1), min(y0, y1)),
                      (max(x0, x1), max(y0, y1)), color,
                      -1, cv2.LINE_AA, _DRAW_SHIFT)

    def line(self, points: Sequence[Sequence[float]], width: float,
             color: Color) -> None:
        pixels = np.array([self.geometry.point(p) for p in points], np.int32)
        cv2.polylines(self.frame, [pixels], False, color,
                      self.geometry.pixels(width), cv2.LINE_AA, _DRAW_SHIFT)

    def ellipse(self, xy: Sequence[float], axes: Tuple[float, float],
                color: Color) -> None:
        cv2.ellipse(self.frame, self.geometry.point(xy),
                    (self.geometry.length(axes[0]),
                     self.geometry.length(axes[1])), 0, 0, 360,
                    color, -1, cv2.LINE_AA, _DRAW_SHIFT)


def elbow(shoulder: np.ndarray, hand: np.ndarray, segment: float,
          outward: float) -> np.ndarray:
    """Elbow of a two-segment arm reaching from ``shoulder`` to ``hand``.

    Args:
        shoulder (np.ndarray): ``(2, )`` shoulder position.
        hand (np.ndarray): ``(2, )`` hand position.
        segment (float): Length of the upper arm and of the forearm.
        outward (float): +1 to bend the elbow to the right of the image, -1
            to the left.

    Returns:
        np.ndarray: ``(2, )`` elbow position (the midpoint of a stretched
        arm).
    """
    middle = (shoulder + hand) / 2
    delta = hand - shoulder
    distance = float(np.hypot(*delta))
    if distance >= 2 * segment or distance == 0:
        return middle
    normal = np.array([-delta[1], delta[0]]) / distance
    if normal[0] * outward < 0:
        normal = -normal
    return middle + normal * np.sqrt(segment**2 - (distance / 2)**2)


def render_view(participant: Participant, timeline: SceneTimeline, view: str,
                frame_size: Tuple[int, int],
                noise_rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Render the frames of one recording as seen from ``view``.

    Args:
        participant (Participant): Appearance of the driver and car.
        timeline (SceneTimeline): Scene state per frame.
        view (str): Camera view.
        frame_size (tuple[int, int]): ``(height, width)``.
        noise_rng (np.random.Generator): Draws the pixel noise.

    Yields:
        np.ndarray: BGR uint8 frames of shape ``(height, width, 3)``.
    """
    geometry = ViewGeometry(view, frame_size)
    # Frames draw their sensor noise from a bank: drawing it anew per frame
    # was most of the rendering time.
    noise_bank = noise_rng.standard_normal(
        (_NOISE_BANK, *frame_size, 3), dtype=np.float32) * _NOISE_STD
    background = _render_background(participant, geometry, frame_size)
    scale = participant.scale
    blink_xy = (participant.anchor[0] + 0.4 * scale, 0.9)
    sleeve = tuple(min(255.0, 1.3 * c + 20) for c in participant.shirt_color)
    hand_color = tuple(0.85 * c for c in participant.skin_color)
    for t in range(len(timeline.light)):
        canvas = _Canvas(background.copy(), geometry)
        torso = timeline.torso[t]
        prop = PROPS[timeline.prop[t]]
        canvas.ellipse(torso, (_TORSO_AXES[0] * scale, _TORSO_AXES[1] * scale),
                       participant.shirt_color)
        canvas.disc(timeline.head[t], _HEAD_RADIUS * scale,
                    participant.skin_color)
        _draw_prop_behind(canvas, prop, torso, scale)
        hands = (timeline.hand[t], timeline.other_hand[t])
        arm_color = _PROP_COLORS['jacket'] if prop == 'jacket' else sleeve
        arm_width = (1.4 if prop == 'jacket' else 1.0) * _ARM_WIDTH * scale
        for side, hand in zip((-1.0, 1.0), hands):
            shoulder = torso + scale * np.array(_SHOULDERS[side > 0])
            bend = elbow(shoulder, hand, _ARM_SEGMENT * scale, side)
            canvas.line([shoulder, bend, hand], arm_width, arm_color)
            canvas.disc(hand, _HAND_RADIUS * scale, hand_color)
        _draw_prop_in_hand(canvas, prop, torso, hands, scale)
        for xy, radius, color in zip(timeline.distractor_xy[:, t],
                                     timeline.distractor_radius,
                                     timeline.distractor_color):
            canvas.disc(xy, radius, color)
        if timeline.blink_on[t]:
            canvas.disc(blink_xy, 0.025, (40, 220, 255))
        noise = noise_bank[noise_rng.integers(len(noise_bank))]
        yield _expose(canvas.frame, timeline.light[t], geometry.grey, noise)


def _draw_prop_behind(canvas: _Canvas, prop: str, torso: np.ndarray,
                      scale: float) -> None:
    """Props that stay in place while the hands work on them."""
    if prop in ('laptop', 'laptop_open'):
        canvas.box(torso + scale * np.array([0.0, 0.3]),
                   (0.17 * scale, 0.035 * scale), _PROP_COLORS['laptop'])
        if prop == 'laptop_open':
            canvas.box(torso + scale * np.array([0.0, 0.19]),
                       (0.16 * scale, 0.08 * scale), (90, 90, 90))
    elif prop == 'backpack':
        canvas.box(torso + scale * np.array([0.42, 0.26]),
                   (0.1 * scale, 0.14 * scale), _PROP_COLORS['backpack'])
    elif prop == 'paper':
        canvas.box(torso + scale * np.array([0.0, 0.3]),
                   (0.1 * scale, 0.06 * scale), _PROP_COLORS['paper'])


def _draw_prop_in_hand(canvas: _Canvas, prop: str, torso: np.ndarray,
                       hands: Tuple[np.ndarray, np.ndarray],
                       scale: float) -> None:
    """Props held by (or attached to) the active hand."""
    hand = hands[0]
    color = _PROP_COLORS.get(prop)
    if prop == 'bottle':
        canvas.box(hand + scale * np.array([0.0, -0.07]),
                   (0.025 * scale, 0.07 * scale), color)
    elif prop == 'food':
        canvas.disc(hand + scale * np.array([0.0, -0.04]), 0.035 * scale,
                    color)
    elif prop == 'phone':
        canvas.box(hand + scale * np.array([0.0, -0.045]),
                   (0.025 * scale, 0.045 * scale), color)
    elif prop == 'belt':
        anchor = torso + scale * np.array([-0.2, -0.3])
        canvas.line([anchor, hand], 0.03 * scale, color)
        canvas.box(hand, (0.02 * scale, 0.02 * scale), (190, 190, 190))
    elif prop == 'laptop':
        hinge = torso + scale * np.array([0.0, 0.27])
        canvas.line([hinge, hand], 0.04 * scale, (90, 90, 90))
    elif prop == 'laptop_in_hand':
        canvas.box(hand, (0.1 * scale, 0.025 * scale), color)
    elif prop == 'sunglasses':
        canvas.box(hand + scale * np.array([0.0, -0.03]),
                   (0.06 * scale, 0.015 * scale), color)
    elif prop == 'box':
        canvas.box(hand + scale * np.array([0.0, -0.04]),
                   (0.04 * scale, 0.04 * scale), color)
    elif prop in ('magazine', 'newspaper'):
        half = (0.12, 0.09) if prop == 'magazine' else (0.2, 0.14)
        middle = (hands[0] + hands[1]) / 2
        canvas.box(middle + scale * np.array([0.0, -0.05]),
                   (half[0] * scale, half[1] * scale), color)


def _render_background(participant: Participant, geometry: ViewGeometry,
                       frame_size: Tuple[int, int]) -> np.ndarray:
    """The static part: the car interior."""
    height, width = frame_size
    weight = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    top = np.array(participant.background_top, np.float32)
    bottom = np.array(participant.background_bottom, np.float32)
    frame = (top * (1 - weight) + bottom * weight).repeat(width, axis=1)
    canvas = _Canvas(np.ascontiguousarray(frame.astype(np.uint8)), geometry)
    anchor, scale = np.array(participant.anchor), participant.scale
    canvas.box((0.3, 0.2), (0.22, 0.12),
               tuple(min(255.0, c + 50) for c in participant.background_top))
    canvas.box(anchor + scale * np.array([0.0, -0.05]),
               (0.24 * scale, 0.45 * scale),
               tuple(0.6 * c for c in participant.background_bottom))
    canvas.box(anchor + scale * np.array([0.38, -0.06]),
               (0.06 * scale, 0.04 * scale), (70, 40, 30))
    return canvas.frame


def _expose(frame: np.ndarray, light: float, grey: bool,
            noise: np.ndarray) -> np.ndarray:
    """Apply lighting, optional greyscale and sensor noise."""
    image = frame.astype(np.float32)
    if grey:
        image = image.mean(axis=2, keepdims=True).repeat(3, axis=2)
    image *= light
    image += noise
    return np.clip(image, 0, 255).astype(np.uint8)
