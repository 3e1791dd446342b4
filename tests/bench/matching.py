"""`make bench` (matching engine).

N synthetic but realistic Chinese open-licence patents (default 100,000; deterministic seed)
from per-field vocabularies (36 technical fields, each with subjects, parts, processes,
problems, effects, scenarios, IPC codes and a GB/T 4754 industry). Reported:

1. tokenisation throughput (jieba search mode + domain dictionary, docs/s, one thread);
2. index build time and memory (RSS growth while building; the bm25s matrix size);
3. top-10 latency p50 / p99 of the index vs a brute-force scan (engine/bruteforce.py: every doc
   scored one by one, same formula, same candidate rule, same blend) measured in the same run on
   the same queries, and the ratio; text scoring with bm25s' get_scores vs the index's bincount;
4. incremental updates: upsert (tokenise + index) → visible in a search, remove → gone, p50/p99;
5. the evaluation set's nDCG@10 / recall@10 (tests/matching/eval) when its files exist;
6. the service path, event to searchable: the broker, registry and matching as processes (as
   `make run` starts them); the IP office publishes a declaration over REST and the time until
   `GET /v1/search` returns it (the index polls changed rows every second), p50 / p99, against
   the same service answering a search for an already indexed patent.

Usage: python -m tests.bench.matching [--docs 100000] [--queries 200] [--brute-queries 200]
                                      [--updates 200] [--service-samples 30]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import threading
import time
from decimal import Decimal

import numpy as np
import psutil

from services.matching.engine.bruteforce import BruteForce
from services.matching.engine.index import Doc, Query, SearchIndex, document_tokens, query_tokens
from services.matching.engine.tokenize import TOKENIZER_VERSION, tokenize

# field | GB/T 4754 | IPC codes | subjects | parts | processes | problems | effects | scenarios
FIELDS = """
锂离子电池|C3841|H01M 4/525,H01M 4/583,H01M 10/0525,H01M 10/0567,H01M 50/403|高镍三元 磷酸铁锂 硅碳 钴酸锂 固态电解质 锰酸锂 石墨 聚合物|正极材料 负极材料 电解液 隔膜 电芯 极片 集流体 粘结剂|包覆 掺杂 烧结 共沉淀 涂布 辊压 化成 预锂化|循环寿命短 首次效率低 容量衰减 产气鼓胀 枝晶生长|能量密度高 循环稳定 倍率性能好 安全性高 成本低|动力电池 储能电站 消费电子 电动两轮车
光伏发电|C3825|H02S 40/10,H02S 20/30,H01L 31/18,H01L 31/0216,H02J 3/38|单晶硅 钙钛矿 异质结 双面 薄膜 多晶硅 柔性 叠层|光伏组件 电池片 硅片 逆变器 支架 汇流箱 减反射膜 背板|制绒 钝化 丝网印刷 层压 清洗 跟踪 最大功率点跟踪 封装|转换效率低 热斑 积灰遮挡 衰减快 隐裂|发电效率高 抗衰减 安装方便 维护成本低 可靠性高|分布式屋顶 荒漠电站 农光互补 渔光互补
风力发电|C3415|F03D 7/02,F03D 80/50,F03D 1/06,F03D 17/00,H02J 3/38|海上 陆上 大型 直驱 双馈 半直驱 碳纤维 漂浮式|风机叶片 齿轮箱 变桨轴承 塔筒 主轴 发电机 偏航系统 机舱|载荷控制 状态监测 除冰 吊装 降噪 故障诊断 变桨控制 防腐|叶片结冰 轴承失效 振动过大 发电量损失 雷击损伤|发电量提升 寿命延长 运维便捷 载荷降低 可靠|海上风电场 山地风电 低风速区域 高寒地区
氢能燃料电池|C3849|H01M 8/1004,H01M 8/04,C25B 1/04,C25B 9/00,F17C 1/00|质子交换膜 固体氧化物 碱性 阴离子交换膜 金属双极板 石墨双极板 铂碳 非贵金属|电堆 膜电极 催化层 气体扩散层 双极板 电解槽 储氢瓶 加氢机|电解水 压缩 热管理 水管理 催化剂制备 喷涂 密封 冷启动|铂载量高 寿命短 低温启动困难 氢气泄漏 成本高|功率密度高 耐久性好 效率高 低成本 安全|燃料电池汽车 加氢站 分布式发电 绿氢制备
电力电网|D4420|H02J 3/00,H02J 13/00,H02H 7/26,G01R 31/08,H02B 1/20|智能 配电 输电 特高压 柔性直流 微电网 户外 高压|变电站 断路器 开关柜 变压器 输电线路 继电保护装置 电缆 绝缘子|故障定位 在线监测 无功补偿 负荷预测 巡检 潮流计算 电能计量 调度|停电时间长 线损高 故障难定位 电压波动 设备老化|供电可靠性高 损耗低 响应快 自愈 运维智能|城市配电网 农村电网 工业园区 新能源并网
电机驱动|C3812|H02K 1/27,H02K 21/14,H02P 21/00,H02P 6/18,H02K 9/19|永磁同步 无刷直流 开关磁阻 异步 扁线 轮毂 高速 伺服|电机 定子 转子 绕组 控制器 编码器 冷却水道 磁钢|矢量控制 无位置传感器控制 弱磁控制 散热 绕线 充磁 转矩控制 故障诊断|转矩脉动 温升过高 噪声大 效率低 退磁|功率密度高 效率高 噪声低 响应快 体积小|新能源汽车 工业伺服 家用电器 压缩机
煤矿安全|B0610|E21F 17/18,E21F 7/00,E21F 5/00,E21B 7/04,G08B 21/16|煤与瓦斯 高瓦斯 突出 深部 低透气性 自燃 综采 掘进|瓦斯抽采钻孔 封孔器 监测传感器 局部通风机 防突装置 喷雾降尘装置 束管监测系统 钻机|抽采 封孔 预警 通风 降尘 注浆 防灭火 定向钻进|瓦斯超限 煤与瓦斯突出 粉尘浓度高 煤自燃 封孔不严|抽采效率高 预警准确 安全可靠 降尘率高 施工简便|煤矿井下 采煤工作面 掘进巷道 采空区
矿山开采|B0610|E21C 41/18,E21D 11/00,E21D 21/00,E21D 23/00,B65G 15/00|综采 充填 露天 地下 深井 薄煤层 厚煤层 无人化|液压支架 采煤机 掘进机 锚杆 锚索 刮板输送机 带式输送机 提升机|支护 充填开采 截割 破岩 巷道掘进 远程控制 爆破 选矿|顶板冒落 巷道变形 冲击地压 效率低 设备磨损|支护可靠 回采率高 自动化程度高 安全 节能|煤矿 金属矿山 露天矿 井工矿
冶金钢铁|C3120|C21D 9/46,C22C 38/02,C21C 5/28,B21B 1/22,C21B 5/00|高强 耐候 不锈 硅钢 低合金 热轧 冷轧 特厚|钢板 钢带 钢坯 连铸坯 高炉 转炉 轧机 加热炉|冶炼 连铸 轧制 热处理 淬火 回火 脱硫 控轧控冷|强度不足 表面缺陷 能耗高 成分偏析 氧化铁皮|强度高 韧性好 成本低 能耗低 表面质量好|汽车板 桥梁 船舶 管线
有色金属|C3216|C22C 21/00,C22C 23/00,C22F 1/04,C22B 3/00,B22D 17/00|高强铝合金 镁合金 钛合金 铜合金 稀土 再生铝 铝锂 高温合金|铸锭 型材 板材 箔材 压铸件 靶材 粉末 线材|熔炼 压铸 挤压 时效 浸出 电解 精炼 粉末冶金|偏析 裂纹 耐蚀性差 回收率低 杂质含量高|强度高 轻量化 耐腐蚀 导电性好 回收率高|汽车轻量化 航空航天 电子 建筑
焊接加工|C3424|B23K 26/21,B23K 9/16,B23K 20/12,B23K 37/02,B23K 31/12|激光 搅拌摩擦 电弧 电子束 自动 异种金属 厚板 薄板|焊缝 焊枪 焊接机器人 焊丝 工装夹具 熔池 焊接电源 焊缝跟踪传感器|焊接 焊缝跟踪 熔覆 预热 焊后热处理 视觉检测 路径规划 填丝|气孔 裂纹 变形大 熔深不足 飞溅|焊缝质量好 效率高 变形小 自动化 成本低|船舶制造 汽车车身 压力容器 钢结构
数控机床|C3421|B23Q 17/09,B23Q 11/00,G05B 19/4065,B23B 27/00,B24B 49/00|五轴 立式 卧式 精密 高速 车铣复合 龙门 超精密|加工中心 主轴 刀具 导轨 丝杠 刀库 数控系统 夹具|切削 磨削 在线检测 误差补偿 刀具磨损监测 热变形补偿 换刀 振动抑制|加工精度低 刀具磨损 热变形 颤振 效率低|精度高 稳定 效率高 寿命长 智能|航空零件 模具加工 汽车零部件 精密零件
工业机器人|C3491|B25J 9/16,B25J 15/00,B25J 19/02,B25J 11/00,G05B 19/418|六轴 协作 并联 移动 码垛 喷涂 焊接 SCARA|机械臂 末端执行器 夹爪 关节减速器 控制柜 示教器 力传感器 视觉相机|轨迹规划 手眼标定 力控 抓取 避障 示教 分拣 装配|定位精度低 碰撞风险 编程复杂 柔性差 节拍慢|精度高 安全协作 部署快 柔性 效率高|汽车焊装 电子装配 物流分拣 食品包装
机器视觉检测|C4014|G06T 7/00,G06V 10/82,G01N 21/88,G06T 7/73,H04N 23/00|深度学习 三维 线阵 高光谱 双目 结构光 红外 在线|工业相机 光源 镜头 图像采集卡 检测工位 标定板 视觉控制器 传感器|缺陷检测 尺寸测量 定位 识别 分类 图像分割 标定 三维重建|漏检 误检 速度慢 光照干扰 小目标难识别|准确率高 实时 非接触 稳定 通用|钢板表面 电路板 纺织品 锂电极片
人工智能算法|I6513|G06N 3/08,G06N 3/04,G06F 18/214,G06N 20/00,G06F 40/30|深度学习 卷积神经网络 注意力机制 图神经网络 大模型 联邦学习 强化学习 知识图谱|模型 训练数据集 特征提取网络 损失函数 推理引擎 标注工具 向量数据库 分类器|训练 推理 蒸馏 剪枝 量化 预训练 微调 数据增强|样本不足 泛化差 计算量大 可解释性差 隐私泄露|精度高 推理快 资源占用少 泛化好 可解释|智能客服 医学影像 工业质检 金融风控
网络安全|I6513|H04L 9/40,H04L 9/32,G06F 21/60,H04L 9/08,G06F 21/55|零信任 区块链 同态加密 量子 轻量级 分布式 可信 多方|密钥 数字证书 防火墙 入侵检测系统 安全网关 身份认证模块 加密芯片 日志审计|加密 解密 签名 认证 访问控制 流量分析 漏洞扫描 溯源|数据泄露 身份伪造 攻击难发现 性能开销大 密钥管理复杂|安全性高 开销小 可追溯 兼容 实时|政务云 金融系统 工业控制 物联网终端
物联网通信|I6312|H04W 4/70,H04W 72/04,H04B 7/06,H04L 67/12,H01Q 1/22|5G 窄带 低功耗 毫米波 LoRa 卫星 边缘 蓝牙|基站 天线 射频前端 网关 终端模组 传感节点 边缘服务器 中继|组网 调度 信道估计 波束成形 资源分配 定位 数据采集 休眠唤醒|覆盖差 功耗高 时延大 干扰严重 连接数受限|覆盖广 低功耗 低时延 可靠 容量大|智慧城市 工业物联网 车联网 智能表计
集成电路|C3973|H01L 21/67,H01L 23/31,H01L 29/78,G11C 16/04,H01L 21/3065|碳化硅 氮化镓 先进 三维 MEMS 功率 模拟 存储|芯片 晶圆 封装基板 引线框架 功率器件 存储单元 光刻胶 键合线|光刻 刻蚀 沉积 封装 键合 减薄 测试 离子注入|良率低 散热差 漏电流大 翘曲 成本高|集成度高 功耗低 可靠性高 散热好 良率高|消费电子 汽车电子 数据中心 通信设备
显示照明|C3974|H01L 33/50,H05B 45/00,G09G 3/32,F21V 29/00,H10K 59/00|MiniLED MicroLED OLED 量子点 柔性 透明 全彩 高亮|显示面板 背光模组 驱动芯片 荧光粉 灯珠 散热器 导光板 封装胶|巨量转移 封装 驱动控制 混光 调光 散热 色彩校正 点胶|亮度不均 光效低 散热差 色偏 寿命短|高亮度 低功耗 色域广 寿命长 轻薄|电视 车载显示 商业照明 植物照明
新能源汽车|C3612|B60L 58/26,B60L 53/00,B60W 30/18,B60K 6/20,B62D 21/15|纯电动 插电混动 增程式 燃料电池 智能网联 自动驾驶 线控 轻量化|整车控制器 电池包 电驱总成 热管理系统 充电桩 车身结构 制动系统 转向系统|能量管理 热管理 充电 碰撞安全 轨迹规划 制动能量回收 换电 路径跟踪|续航短 充电慢 低温性能差 能耗高 碰撞风险|续航长 充电快 安全 舒适 节能|乘用车 商用车 物流车 公交车
轨道交通|C3711|B61F 5/00,B61L 27/00,B61D 17/00,B60M 1/00,E01B 1/00|高速 城轨 重载 磁悬浮 地铁 有轨电车 智能 永磁|转向架 车体 牵引系统 制动装置 信号系统 接触网 轨道 受电弓|状态监测 减振 降噪 故障诊断 调度 检修 轨道检测 制动控制|振动噪声大 轮轨磨耗 故障难预测 能耗高 维护成本高|平稳 安全 节能 维护少 智能|高速铁路 城市地铁 重载货运 市域铁路
航空航天无人机|C3741|B64C 39/02,B64D 47/08,B64U 10/13,G05D 1/10,B64F 1/36|多旋翼 固定翼 垂直起降 系留 长航时 集群 倾转旋翼 复合翼|无人机 飞控 机臂 螺旋桨 云台 起落架 电池仓 地面站|航迹规划 避障 编队 悬停 巡检 测绘 喷洒 自主降落|续航短 抗风差 定位漂移 避障困难 载荷小|续航长 稳定 精准 自主 载荷大|电力巡检 农业植保 应急救援 物流配送
船舶海洋|C3731|B63B 35/00,B63H 21/17,B63B 71/00,E02B 17/00,B63C 11/00|智能 电动 LNG 深海 无人 海上 铝合金 复合材料|船体 推进器 压载水系统 甲板机械 锚泊系统 水下机器人 海工平台 舱室|推进 减阻 防腐 焊接 定位 航行控制 压载水处理 系泊|阻力大 腐蚀严重 能耗高 定位不准 噪声大|节能 耐腐蚀 稳定 智能 环保|远洋运输 海洋工程 内河航运 海洋养殖
工程机械|C3514|E02F 9/20,B66C 13/00,E02F 3/42,B66F 9/06,E21D 9/06|电动 智能 大型 小型 遥控 无人 混合动力 液压|挖掘机 装载机 起重机 盾构机 叉车 泵车 液压系统 回转机构|节能控制 远程操控 姿态感知 液压控制 故障诊断 称重 防倾翻 作业规划|油耗高 操作复杂 安全隐患 效率低 噪声大|节能 安全 高效 智能 可靠|建筑施工 矿山作业 港口装卸 隧道掘进
化工催化|C2614|B01J 29/70,B01J 23/40,C07C 1/20,B01J 8/00,C07C 29/151|分子筛 贵金属 负载型 纳米 均相 固体酸 光 电|催化剂 反应器 载体 活性组分 换热器 精馏塔 吸附剂 膜组件|合成 加氢 脱氢 氧化 浸渍 焙烧 精馏 吸附分离|转化率低 选择性差 失活快 能耗高 副产物多|转化率高 选择性好 寿命长 节能 绿色|石油化工 煤化工 精细化工 医药中间体
高分子材料|C2651|C08L 23/06,C08G 18/48,C08K 3/22,C08J 5/18,C08L 67/04|聚乳酸 聚氨酯 聚酰亚胺 聚丙烯 环氧树脂 尼龙 生物基 可降解|薄膜 泡沫 纤维 复合材料 母粒 涂层 胶黏剂 改性料|共混改性 聚合 挤出 发泡 交联 接枝 注塑 拉伸|强度低 耐热差 易老化 难降解 阻燃性差|力学性能好 耐高温 可降解 阻燃 成本低|包装 汽车内饰 电子电器 建筑保温
环保水处理|N7721|C02F 9/00,C02F 3/30,C02F 1/44,C02F 1/72,C02F 11/12|工业 生活 高盐 印染 焦化 垃圾渗滤液 含油 农村|污水处理设备 膜组件 曝气装置 沉淀池 生化池 加药装置 污泥脱水机 过滤器|生化处理 膜分离 高级氧化 混凝 沉淀 厌氧 脱氮除磷 蒸发结晶|出水不达标 能耗高 污泥量大 膜污染 运行成本高|出水稳定达标 节能 占地小 污泥少 运行成本低|工业园区 市政污水 农村污水 矿井水
大气固废治理|N7722|B01D 53/86,B01D 53/50,B09B 3/00,F23G 5/00,B01D 46/00|烟气 挥发性有机物 危险废物 餐厨垃圾 建筑垃圾 污泥 飞灰 秸秆|除尘器 脱硫塔 脱硝催化剂 焚烧炉 破碎机 分选设备 热解炉 吸附装置|脱硫 脱硝 除尘 焚烧 热解 资源化 分选 固化稳定化|排放超标 二次污染 处置成本高 资源浪费 恶臭|达标排放 资源化利用 成本低 无二次污染 高效|燃煤电厂 钢铁烧结 垃圾处理厂 化工园区
建筑建材|C3021|E04B 1/00,E04G 21/14,C04B 28/04,E04F 13/08,E04B 1/76|装配式 预制 高性能 再生 保温 防水 轻质 超高性能|混凝土 墙板 预制构件 砂浆 保温板 防水卷材 钢筋 模板|浇筑 预制 拼装 养护 灌浆 喷涂 加固 检测|开裂 渗漏 保温差 施工慢 强度不足|施工快 强度高 节能 防水 环保|住宅 桥梁 隧道 工业厂房
暖通节能|C3464|F24F 11/00,F25B 30/02,F24D 3/18,F28D 20/00,F24F 13/30|空气源 地源 相变 余热 智能 多联 蒸发冷却 太阳能|热泵 换热器 压缩机 风机盘管 储热装置 新风系统 冷却塔 控制器|制冷 制热 蓄热 余热回收 变频控制 除霜 新风净化 温湿度控制|能耗高 结霜 舒适性差 热损失大 噪声大|节能 舒适 稳定 低噪声 高效|商业建筑 数据中心 北方供暖 工业厂房
医疗器械|C3581|A61B 5/00,A61B 17/34,A61M 25/00,A61F 2/82,A61B 8/00|微创 可穿戴 植入式 一次性 智能 便携 可降解 无线|导管 支架 内窥镜 监护仪 穿刺针 手术器械 传感器 超声探头|监测 成像 穿刺 止血 消毒 定位 导航 康复训练|创伤大 感染风险 操作复杂 精度低 舒适性差|创伤小 安全 精准 便携 舒适|医院手术 家庭护理 康复中心 急救
生物医药|C2720|A61K 36/00,A61K 39/00,C07K 16/28,C12N 15/11,A61P 35/00|中药 单克隆抗体 疫苗 多肽 小分子 核酸 细胞 天然产物|组合物 提取物 注射液 片剂 试剂盒 抗体 载体 制剂|提取 纯化 发酵 合成 冻干 筛选 检测 制剂工艺|疗效差 副作用大 稳定性差 生物利用度低 成本高|疗效好 毒副作用小 稳定 生物利用度高 质量可控|肿瘤治疗 抗感染 慢病管理 体外诊断
农业种植|A0110|A01G 9/14,A01C 21/00,A01G 25/02,A01H 6/46,A01N 63/00|水稻 小麦 玉米 马铃薯 设施蔬菜 茶叶 果树 中药材|种子 温室大棚 滴灌系统 播种机 育苗盘 肥料 生物农药 土壤改良剂|栽培 育种 灌溉 施肥 病虫害防治 土壤改良 育苗 采收|产量低 病虫害严重 土壤板结 用水浪费 品质差|增产 节水 抗病 品质好 省工|大田种植 设施农业 丘陵山区 盐碱地
畜牧水产养殖|A0310|A01K 61/00,A01K 1/00,A23K 50/10,A23K 10/18,A01K 63/04|生猪 家禽 奶牛 对虾 鱼类 肉牛 蛋鸡 河蟹|饲料 养殖箱 增氧机 饲喂装置 粪污处理设备 水质监测仪 圈舍 疫苗|饲喂 发酵 增氧 消毒 疫病防控 粪污处理 环境控制 育种|死亡率高 饲料转化率低 水质恶化 疫病 环境污染|成活率高 饲料利用率高 环保 省工 品质好|规模化养殖场 池塘养殖 工厂化养殖 家庭农场
食品加工|C1490|A23L 33/105,A23L 2/38,A23C 9/12,C12G 3/02,A23B 7/10|乳制品 果蔬 肉制品 杂粮 发酵 功能性 速冻 饮料|生产线 发酵罐 杀菌设备 干燥设备 包装机 配方 提取物 菌种|发酵 杀菌 干燥 萃取 均质 冷冻 保鲜 灌装|保质期短 营养流失 口感差 添加剂多 能耗高|口感好 营养保留 保质期长 安全 天然|休闲食品 乳品厂 果蔬加工 餐饮
纺织服装|C1713|D01F 6/62,D06M 15/00,D04H 1/4382,D06P 1/00,D03D 15/00|功能性 抗菌 阻燃 再生涤纶 无纺布 智能 高强 吸湿排汗|纤维 纱线 面料 无纺布 染料 整理剂 织机 服装|纺丝 织造 印染 整理 涂层 复合 熔喷 后整理|色牢度差 手感差 污染重 强力低 耗水大|舒适 抗菌 阻燃 环保 耐用|服装家纺 医疗防护 产业用纺织品 汽车内饰
"""

REGIONS = ["140202", "140211", "140100", "140400", "420281", "420200", "320500", "320100",
           "110108", "440300", "440100", "330100", "510100", "370200", "610100", "210200"]
GROUPS = ("subjects", "parts", "processes", "problems", "effects", "scenarios")


def fields() -> list[dict]:
    out = []
    for line in FIELDS.strip().splitlines():
        name, industry, ipcs, *groups = line.split("|")
        out.append({"name": name, "industry": industry, "ipc": ipcs.split(","),
                    **{g: words.split() for g, words in zip(GROUPS, groups)}})
    return out


def make_patents(n: int, seed: int = 20240227) -> list[dict]:
    """Patent texts of ~200 characters (title, abstract, claims) with fee terms and owners."""
    rng = random.Random(seed)
    fs = fields()
    out = []
    for i in range(n):
        f = rng.choice(fs)
        s1, s2 = rng.sample(f["subjects"], 2)
        p1, p2, p3, p4 = rng.sample(f["parts"], 4)
        pr1, pr2 = rng.sample(f["processes"], 2)
        problem = rng.choice(f["problems"])
        e1, e2 = rng.sample(f["effects"], 2)
        scene = rng.choice(f["scenarios"])
        if rng.random() < 0.15:  # a technique borrowed from another field
            pr2 = rng.choice(rng.choice(fs)["processes"])
        title = rng.choice([f"一种{s1}{p1}的{pr1}方法", f"基于{pr1}的{s1}{p1}",
                            f"一种用于{scene}的{s1}{p1}", f"{s1}{p1}及其{pr1}工艺"])
        abstract = (f"本发明公开了{title}，属于{f['name']}技术领域。针对现有{p1}存在{problem}的"
                    f"问题，该{p1}包括{p2}和{p3}，通过{pr2}与{pr1}相结合，{e1}且{e2}，适用于"
                    f"{scene}。")
        claims = (f"1. {title}，其特征在于：包括{p2}、{p3}和{p4}，所述{p2}设置于{p3}一侧，采用"
                  f"{pr2}处理，温度为{rng.randrange(20, 900)}℃。2. 根据权利要求1所述的{p1}，"
                  f"其特征在于，所述{p4}为{s2}{p4}。")
        ipc = rng.sample(f["ipc"], rng.choice((1, 1, 2, 3)))
        if rng.random() < 0.15:
            ipc.append(rng.choice(rng.choice(fs)["ipc"]))
        r = rng.random()
        lump: int | None = None
        royalty: str | None = None
        method = "lump_sum"
        if r < 0.55:
            lump = rng.choice((1, 2, 3, 5, 8, 10, 20, 30, 50, 100, 200)) * 10_000
        elif r < 0.80:
            royalty, method = rng.choice(("0.01", "0.02", "0.03", "0.05")), "royalty"
        elif r < 0.95:
            lump, royalty, method = rng.choice((1, 2, 5, 10)) * 10_000, "0.02", "entry_fee_royalty"
        else:
            lump, method = 0, "free"
        kind = rng.choices(["university", "research_institute", "enterprise", "individual"],
                           (45, 15, 35, 5))[0]
        out.append({"id": f"S{i:06d}", "title": title, "abstract": abstract, "claims": claims,
                    "technical_field": f["name"], "ipc": tuple(ipc), "industry": f["industry"],
                    "region": rng.choice(REGIONS), "lump": lump, "royalty": royalty,
                    "method": method, "kind": kind})
    return out


def to_doc(p: dict) -> Doc:
    return Doc(doc_id=p["id"], application_no=f"2023{p['id'][1:]:0>8}.X", title=p["title"],
               tokens=document_tokens(title=p["title"], abstract=p["abstract"],
                                      claims=p["claims"], technical_field=p["technical_field"]),
               ipc_codes=p["ipc"], region_code=p["region"], industry_codes=(p["industry"],),
               lump_sum_cny=None if p["lump"] is None else Decimal(p["lump"]),
               royalty_rate=None if p["royalty"] is None else Decimal(p["royalty"]),
               payment_method=p["method"], patentee_type=p["kind"])


def make_queries(n: int, seed: int = 7) -> list[Query]:
    """Demands as an enterprise writes them: a short title, a paragraph, hints, a budget."""
    rng = random.Random(seed)
    fs = fields()
    out = []
    for _ in range(n):
        f = rng.choice(fs)
        part, subject, process = (rng.choice(f["parts"]), rng.choice(f["subjects"]),
                                  rng.choice(f["processes"]))
        description = (f"我公司主要生产{part}，目前存在{rng.choice(f['problems'])}等问题，希望引进"
                       f"{process}相关专利技术，实现{rng.choice(f['effects'])}，应用于"
                       f"{rng.choice(f['scenarios'])}。")
        r = rng.random()
        hints = (() if r < 0.2 else (rng.choice(f["ipc"]).split(" ")[0],) if r < 0.7
                 else (rng.choice(f["ipc"]),))
        budget = rng.choice((None, 50_000, 100_000, 300_000, 1_000_000))
        out.append(Query(tokens=query_tokens(title=f"寻求{subject}{part}{process}技术",
                                             description=description),
                         ipc_codes=hints, region_code=rng.choice(REGIONS),
                         industry_code=f["industry"],
                         budget_max_cny=None if budget is None else Decimal(budget)))
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def row(label: str, value: str, ratio: str = "") -> None:
    print(f"{label:62} {value:>18} {ratio:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--brute-queries", type=int, default=200)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--service-samples", type=int, default=30,
                        help="publications timed through the real services (0: skip)")
    args = parser.parse_args()
    proc = psutil.Process()

    patents = make_patents(args.docs + args.updates)
    fresh, patents = patents[args.docs:], patents[: args.docs]
    tokenize("预热")  # jieba's dictionary loads once per process; not part of the throughput
    started = time.perf_counter()
    docs = [to_doc(p) for p in patents]
    tok_s = time.perf_counter() - started
    chars = sum(len(p["title"]) + len(p["abstract"]) + len(p["claims"]) for p in patents)

    gc.collect()
    rss0 = proc.memory_info().rss
    started = time.perf_counter()
    index = SearchIndex(docs)
    build_s = time.perf_counter() - started
    gc.collect()
    rss_mb = (proc.memory_info().rss - rss0) / 2**20
    base = index._base
    matrix_mb = sum(a.nbytes for a in (base.data, base.indices, base.indptr)) / 2**20

    started = time.perf_counter()
    brute = BruteForce(docs)
    brute_prep_s = time.perf_counter() - started

    queries = make_queries(args.queries)
    for q in queries[:5]:
        index.search(q)  # warm caches
    idx_ms = [timed(index.search, q, 10)[0] for q in queries]
    bq = queries[: args.brute_queries]
    agree = 0
    brute_ms = []
    for q in bq:
        ms, got = timed(brute.search, q, 10)
        brute_ms.append(ms)
        agree += [m.doc_id for m in got] == [m.doc_id for m in index.search(q, 10)]

    # text scoring alone: bm25s get_scores (np.add.at) vs the index's bincount
    ids = [base.token_ids(q.tokens) for q in queries]
    gs_ms = [timed(base.bm25.get_scores, [int(i) for i in t])[0] for t in ids if t.size]
    bc_ms = [timed(base.raw_scores, t)[0] for t in ids if t.size]
    probe = next(t for t in ids if t.size)
    assert np.allclose(base.bm25.get_scores([int(i) for i in probe]), base.raw_scores(probe),
                       rtol=1e-5, atol=1e-5)

    # incremental updates: an event's patent → tokenised → upserted → found by its own title
    up_ms, rm_ms = [], []
    for p in fresh:
        p = {**p, "title": f"{p['title']}（型号{p['id']}）"}  # a word only this patent has
        marker = Query(tokens=(p["id"].lower(),))
        started = time.perf_counter()
        d = to_doc(p)
        index.upsert(d)
        found = index.search(marker, 1)
        up_ms.append((time.perf_counter() - started) * 1000)
        assert found and found[0].doc_id == d.doc_id, "upserted doc not found"
    for p in fresh:
        marker = Query(tokens=(p["id"].lower(),))
        started = time.perf_counter()
        index.remove(p["id"])
        found = index.search(marker, 1)
        rm_ms.append((time.perf_counter() - started) * 1000)
        assert not found, "removed doc still found"

    # searches while a full rebuild runs in another thread (reads never wait for the build)
    rebuild = threading.Thread(target=index.rebuild)
    during_ms: list[float] = []
    started = time.perf_counter()
    rebuild.start()
    while rebuild.is_alive():
        during_ms.append(timed(index.search, queries[len(during_ms) % len(queries)], 10)[0])
    rebuild.join()
    rebuild_s = time.perf_counter() - started

    print(f"\nipbridge matching benchmark ({args.docs:,} open-licence patents, "
          f"{args.queries} queries, tokenizer {TOKENIZER_VERSION})")
    row("measure", "value", "ratio")
    row("tokenise + field weighting (docs/s, one thread)", f"{len(docs) / tok_s:,.0f}")
    row("tokenise (characters/s)", f"{chars / tok_s:,.0f}")
    row("mean tokens per doc (weighted)", f"{statistics.mean(len(d.tokens) for d in docs):.0f}")
    row("index build: bm25s + feature arrays (s)", f"{build_s:.1f}")
    row("index memory: RSS growth while building (MB)", f"{rss_mb:.0f}")
    row("index memory: bm25s score matrix (MB)", f"{matrix_mb:.0f}")
    row("brute force preparation: term counts + df (s)", f"{brute_prep_s:.1f}")
    b50, b99 = pct(brute_ms, 50), pct(brute_ms, 99)
    i50, i99 = pct(idx_ms, 50), pct(idx_ms, 99)
    row(f"brute-force scan top-10 p50 / p99 (ms, {len(bq)} queries)", f"{b50:.1f} / {b99:.1f}",
        "1.00")
    row(f"index top-10 p50 / p99 (ms, {len(queries)} queries)", f"{i50:.2f} / {i99:.2f}",
        f"{i50 / b50:.4f}")
    row("index speed-up over brute force at p50 / p99 (x)",
        f"{b50 / i50:.0f} / {b99 / i99:.0f}")
    row("same top-10 ids as brute force (queries)", f"{agree} / {len(bq)}")
    row("text scores: bm25s get_scores p50 (ms)", f"{pct(gs_ms, 50):.2f}", "1.00")
    row("text scores: index bincount p50 (ms)", f"{pct(bc_ms, 50):.2f}",
        f"{pct(bc_ms, 50) / pct(gs_ms, 50):.2f}")
    row(f"upsert (tokenise + index) -> visible p50 / p99 (ms, {len(up_ms)})",
        f"{pct(up_ms, 50):.2f} / {pct(up_ms, 99):.2f}")
    row(f"remove -> gone from search p50 / p99 (ms, {len(rm_ms)})",
        f"{pct(rm_ms, 50):.2f} / {pct(rm_ms, 99):.2f}")
    row("full rebuild with searches running meanwhile (s)", f"{rebuild_s:.1f}")
    row(f"index top-10 during that rebuild p50 / p99 (ms, {len(during_ms)})",
        f"{pct(during_ms, 50):.2f} / {pct(during_ms, 99):.2f}")
    try:
        from tests.matching.eval.evaluate import evaluate
        result = evaluate()
    except FileNotFoundError as exc:
        print(f"evaluation set: not found ({exc})")
    else:
        for mode in ("blend", "text_only"):
            r = result[mode]
            row(f"eval {mode} nDCG@10 / recall@10 ({result['demands']} demands, "
                f"{result['patents']} patents)", f"{r['ndcg@10']:.3f} / {r['recall@10']:.3f}")
    if args.service_samples:
        service_path(args.service_samples)


def service_path(samples: int) -> None:
    """Publication (REST, committed) → searchable, through the real services."""
    import shutil
    import tempfile
    from datetime import timedelta
    from pathlib import Path

    import httpx

    from shared.broker import free_port
    from shared.db import today_cn
    from shared.migrate import upgrade
    from tests.factories import enterprise_body, make_uscc
    from tests.harness import ServiceProcess, auth, start_test_broker, wait_for
    from tests.registry.ip_factories import patent_body

    tmp = Path(tempfile.mkdtemp(prefix="bench-matching-service-"))
    broker = start_test_broker(tmp)
    procs: list[ServiceProcess] = []
    try:
        quiet = {"IPBRIDGE_LOG_LEVEL": "WARNING"}
        for name in ("registry", "matching"):
            url = f"sqlite+aiosqlite:///{tmp / (name + '.db')}"
            upgrade(name, url)
            procs.append(ServiceProcess(name, free_port(), url, broker.bootstrap,
                                        tmp / f"{name}.log", quiet))
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.wait_healthy()
        registry, matching = procs[0].url, procs[1].url
        school = enterprise_body(uscc=make_uscc(prefix="12"), name="基准测试大学")
        httpx.post(f"{registry}/v1/enterprises", json=school, headers=auth(), timeout=10)
        owner = auth("university", school["uscc"])
        today = today_cn()
        latencies, searches = [], []
        for i in range(samples):
            marker = f"基准型号{i:04d}"
            body = patent_body(school["uscc"], title=f"一种煤矿瓦斯监测装置{marker}",
                               abstract=f"{marker}用于井下瓦斯浓度监测。")
            number = httpx.post(f"{registry}/v1/patents", json=body, headers=auth(),
                                timeout=10).json()["application_no"]

            def declared():
                resp = httpx.post(f"{matching}/v1/open-licenses", timeout=10, headers=owner, json={
                    "application_no": number, "payment_method": "free",
                    "patentee_type": "university", "starts_on": today.isoformat(),
                    "ends_on": (today + timedelta(days=365)).isoformat()})
                return None if "patent_unknown" in resp.text else resp.json()
            ol = wait_for(declared, what="matching knowing the patent")["id"]
            resp = httpx.post(f"{matching}/v1/open-licenses/{ol}/publication", json={},
                              headers=auth(), timeout=10)
            published = time.perf_counter()
            assert resp.status_code == 200, resp.text
            deadline = time.monotonic() + 30
            while True:  # every sample shares the words: ask for them all (k=100)
                results = httpx.get(f"{matching}/v1/search", params={"q": marker, "k": 100},
                                    headers=auth(), timeout=10).json()["results"]
                if any(r["open_license_id"] == ol for r in results):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"publication {ol} not searchable after 30 s")
                time.sleep(0.01)
            latencies.append((time.perf_counter() - published) * 1000)
            started = time.perf_counter()
            httpx.get(f"{matching}/v1/search", params={"q": marker, "k": 100}, headers=auth(),
                      timeout=10)
            searches.append((time.perf_counter() - started) * 1000)
        print(f"\nservice path ({samples} publications, registry + matching processes, SQLite):")
        row("publication committed -> found by GET /v1/search p50 / p99 (ms)",
            f"{pct(latencies, 50):.0f} / {pct(latencies, 99):.0f}",
            f"{pct(latencies, 50) / pct(searches, 50):.0f}")
        row("GET /v1/search of an indexed patent p50 / p99 (ms, baseline)",
            f"{pct(searches, 50):.1f} / {pct(searches, 99):.1f}", "1")
    finally:
        for proc in procs:
            proc.stop()
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
