"""The pinned class list of the Drive&Act benchmark."""

# The 34 fine-grained ("midlevel") activities of Drive&Act, sorted; a label is
# the index in this tuple. Some public code uses 39 labels: this list is pinned
# so that labels never depend on which activities a split file happens to hold.
DRIVEACT_MIDLEVEL_CLASSES = (
    'closing_bottle', 'closing_door_inside', 'closing_door_outside',
    'closing_laptop', 'drinking', 'eating', 'entering_car', 'exiting_car',
    'fastening_seat_belt', 'fetching_an_object', 'interacting_with_phone',
    'looking_or_moving_around (e.g. searching)', 'opening_backpack',
    'opening_bottle', 'opening_door_inside', 'opening_door_outside',
    'opening_laptop', 'placing_an_object', 'preparing_food',
    'pressing_automation_button', 'putting_laptop_into_backpack',
    'putting_on_jacket', 'putting_on_sunglasses', 'reading_magazine',
    'reading_newspaper', 'sitting_still', 'taking_laptop_from_backpack',
    'taking_off_jacket', 'taking_off_sunglasses', 'talking_on_phone',
    'unfastening_seat_belt', 'using_multimedia_display', 'working_on_laptop',
    'writing')

# Camera views and the suffix their recordings carry in ``file_id``.
DRIVEACT_VIEWS = {
    'inner_mirror': 'ids_1',
    'a_column_co_driver': 'ids_2',
    'ceiling': 'ids_3',
    'steering_wheel': 'ids_4',
    'a_column_driver': 'ids_5',
    'kinect_color': 'kinect_color',
    'kinect_ir': 'kinect_ir',
}

# Column order of the official ``midlevel.chunks_90.split_N.<subset>.csv``.
DRIVEACT_CSV_COLUMNS = ('participant_id', 'file_id', 'annotation_id',
                        'frame_start', 'frame_end', 'activity', 'chunk_id')
